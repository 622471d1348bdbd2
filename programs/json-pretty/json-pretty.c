/* Reads JSON (its argument, or standard input) and prints it pretty, with json-c. */
#include <stdio.h>
#include <json-c/json.h>

int main(int argc, char **argv)
{
    struct json_object *parsed;
    if (argc > 1) {
        parsed = json_tokener_parse(argv[1]);
    } else {
        char text[65536];
        size_t length = fread(text, 1, sizeof text - 1, stdin);
        text[length] = '\0';
        parsed = json_tokener_parse(text);
    }
    if (!parsed) {
        fprintf(stderr, "json-pretty: not JSON\n");
        return 1;
    }
    puts(json_object_to_json_string_ext(parsed, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
    json_object_put(parsed);
    return 0;
}
