/*
 * main.c - tlsrig, the conformance runner: finds the command named first on the command
 * line and hands it the rest. The commands are cmd_<name>.c; `tlsrig --help` lists them,
 * `tlsrig <command> --help` or `tlsrig help <command>` gives a command's options.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scn.h"

static int help_main(int argc, char **argv);

static const struct option no_options[] = {{NULL, 0, NULL, 0}};

static const cli_command help_command = {
    .name = "help",
    .summary = "this list, or with a command its options: " PROG " help <command>",
    .synopsis = "[COMMAND]",
    .options = "",
    .operands = "command",
    .short_opts = "",
    .long_opts = no_options,
    .main = help_main,
};

const cli_command *const cli_commands[] = {
    &cli_cmd_run, &cli_cmd_list, &cli_cmd_record, &cli_cmd_replay, &help_command, NULL,
};

static void usage(FILE *out)
{
    fputs("usage: " PROG " <command> [options] PATH...\n\ncommands:\n", out);
    for (size_t i = 0; cli_commands[i] != NULL; i++)
        fprintf(out, "  %-8s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
    fputs("\n'" PROG " <command> --help' lists the options of a command.\n\n" EXIT_STATUS_HELP,
          out);
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; cli_commands[i] != NULL; i++) {
        if (strcmp(cli_commands[i]->name, name) == 0)
            return cli_commands[i];
    }
    return NULL;
}

/* unknown_command reports a first word that names no command: a misspelt one gets the
 * nearest command, an option the reminder that the command comes first. */
static int unknown_command(const char *word)
{
    const char *names[16];
    size_t k = 0;
    for (; cli_commands[k] != NULL && k + 1 < sizeof(names) / sizeof(names[0]); k++)
        names[k] = cli_commands[k]->name;
    names[k] = NULL;
    if (word[0] == '-') {
        if (!cli_is_option(word)) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(word, "="), word);
            return cli_unknown_option(NULL, name);
        }
        fprintf(stderr, PROG ": a command comes first, before options such as '%s'\n", word);
    } else {
        const char *near = scn_nearest(word, names);
        if (near != NULL)
            fprintf(stderr, PROG ": unknown command '%s' (did you mean '%s'?)\n", word, near);
        else
            fprintf(stderr, PROG ": unknown command '%s'\n", word);
    }
    usage(stderr);
    return EXIT_USAGE;
}

static int is_help_flag(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int help_main(int argc, char **argv)
{
    if (argc < 2 || is_help_flag(argv[1])) {
        usage(stdout);
        return EXIT_PASSED;
    }
    const cli_command *cmd = find_command(argv[1]);
    if (cmd == NULL)
        return unknown_command(argv[1]);
    if (cmd == &help_command)
        usage(stdout);
    else
        cli_print_help(cmd, stdout);
    return EXIT_PASSED;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (is_help_flag(argv[1])) {
        usage(stdout);
        return EXIT_PASSED;
    }
    const cli_command *cmd = find_command(argv[1]);
    if (cmd == NULL)
        return unknown_command(argv[1]);
    return cmd->main(argc - 1, argv + 1);
}
