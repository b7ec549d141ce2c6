/* main.c: the llmcap command line (scaffold; replaced as the foundation lands). */
#include <gsl/gsl_errno.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    gsl_set_error_handler_off();
    fprintf(stderr, "llmcap: not built yet\n");
    return 3;
}
