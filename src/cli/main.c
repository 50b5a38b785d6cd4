#include <stdio.h>
int main(void) { puts("switchyard"); return 0; }
