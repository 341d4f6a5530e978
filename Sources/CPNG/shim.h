// libpng 1.6 and zlib (Debian libpng-dev, zlib1g-dev).
#include <png.h>
#include <zlib.h>
