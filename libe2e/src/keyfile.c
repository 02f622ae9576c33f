/* keyfile.c: being written. */
#include "internal.h"
