/* trust.c: being written. */
#include "internal.h"
