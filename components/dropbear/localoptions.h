/* rvbuild's Dropbear options (the defaults are in default_options.h). */

/* Key login only: Debian's cross glibc has no crypt(), and keys are what we want anyway. */
#define DROPBEAR_SVR_PASSWORD_AUTH 0
