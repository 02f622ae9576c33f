/* envelope.c: being written. */
#include "internal.h"
