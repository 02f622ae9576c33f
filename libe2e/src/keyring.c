/* keyring.c: being written. */
#include "internal.h"
