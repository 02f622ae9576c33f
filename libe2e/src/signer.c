/* signer.c: being written. */
#include "internal.h"
