#include "tap.h"
int main(void) { OK(1); END_TEST; }
