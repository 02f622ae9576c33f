/* guard.c: being written. */
#include "internal.h"
