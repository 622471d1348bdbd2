/* The smallest proof that the pipeline works: built on the host, run in the guest. */
#include <stdio.h>
#include <sys/utsname.h>

int main(void)
{
	struct utsname machine;

	if (uname(&machine) != 0) {
		perror("uname");
		return 1;
	}
	printf("Hello from %s, built by rvbuild!\n", machine.machine);
	return 0;
}
