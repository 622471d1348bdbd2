/* Compresses a text with zlib and back, and says what it got. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
    char text[4096], packed[4096], unpacked[4096];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "RISC-V "[i % 7];
    uLongf packed_size = sizeof packed, unpacked_size = sizeof unpacked;
    if (compress2((Bytef *)packed, &packed_size, (Bytef *)text, sizeof text, Z_BEST_COMPRESSION) != Z_OK ||
        uncompress((Bytef *)unpacked, &unpacked_size, (Bytef *)packed, packed_size) != Z_OK ||
        unpacked_size != sizeof text || memcmp(text, unpacked, sizeof text) != 0) {
        fprintf(stderr, "zlib-roundtrip: the round trip failed\n");
        return 1;
    }
    printf("zlib %s: %zu bytes -> %lu compressed -> %lu back, the same\n", zlibVersion(), sizeof text,
           (unsigned long)packed_size, (unsigned long)unpacked_size);
    return 0;
}
