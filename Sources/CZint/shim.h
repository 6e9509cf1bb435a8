#ifndef CUSTODY_CZINT_SHIM_H
#define CUSTODY_CZINT_SHIM_H

/* libzint (Debian libzint-dev) ships no pkg-config file: the header is found on the default path. */
#include <zint.h>

#endif
