/* docs/simulator.md: a synthetic log as a file and straight into a log. */
#include <clv/clv.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    /* @SAMPLE@ */

    FILE *f = fopen("synthetic.csv", "r");
    if (!f)
        return 1;
    fclose(f);
    return 0;
}
