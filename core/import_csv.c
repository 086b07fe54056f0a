/* placeholder */
#include "config.h"
extern int ob_placeholder_import_csv;
