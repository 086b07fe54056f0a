/* placeholder */
#include "config.h"
extern int ob_placeholder_demo;
