/*
 * cmd_plugin.c — `nexus plugin keygen|sign|verify`: the signing side of
 * signed plugins (cortex/include/nx/plugin_sign.h).
 *
 *   nexus plugin keygen [--key FILE]          new key pair; prints the public key
 *   nexus plugin sign [--key FILE] PLUGIN.so  writes PLUGIN.so.sig
 *   nexus plugin verify (--config FILE | --trust PUBKEY...) PLUGIN.so
 *
 * The secret key file defaults to $NEXUS_PLUGIN_KEY, else ./nexus-plugin.key;
 * it is created 0600 and a looser mode is refused. Nothing secret is printed.
 */
#include "cli.h"

#include "nx/config.h"
#include "nx/plugin_sign.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: nexus plugin keygen [--key FILE]\n"
            "       nexus plugin sign [--key FILE] PLUGIN.so\n"
            "       nexus plugin verify (--config FILE | --trust PUBKEY ...) PLUGIN.so\n\n"
            "Plugins load only with a detached Ed25519 signature (PLUGIN.so.sig) by a key\n"
            "listed in cortex.trusted_keys. keygen creates a key pair: the secret key goes\n"
            "to FILE (mode 0600; default $NEXUS_PLUGIN_KEY or ./nexus-plugin.key) and the\n"
            "public key is printed, to be added to cortex.trusted_keys. sign writes\n"
            "PLUGIN.so.sig; verify checks it against the config's keys or the given ones.\n"
            "Exit status: 0 ok, 1 failure (verify: not valid), 64 usage.\n");
}

static const char *default_key(void)
{
    const char *k = getenv("NEXUS_PLUGIN_KEY");
    return k && *k ? k : "nexus-plugin.key";
}

int nx_cmd_plugin(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? NX_EXIT_USAGE : NX_EXIT_OK;
    }
    const char *verb = argv[1];
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"config", required_argument, 0, 'c'},
                                         {"trust", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *key = default_key(), *config = NULL;
    const char *trust[NX_CONFIG_MAX_KEYS];
    uint32_t ntrust = 0;
    int c;
    optind = 1;
    argc--, argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 't':
            if (ntrust < NX_CONFIG_MAX_KEYS)
                trust[ntrust++] = optarg;
            break;
        case 'h':
            help(stdout);
            return NX_EXIT_OK;
        default:
            help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    char err[512];
    if (!strcmp(verb, "keygen")) {
        if (optind != argc) {
            help(stderr);
            return NX_EXIT_USAGE;
        }
        char pk[NX_SIGN_PK_B64_MAX];
        if (nx_sign_keygen(key, pk, err, sizeof err)) {
            fprintf(stderr, "nexus plugin keygen: %s\n", err);
            return NX_EXIT_FAIL;
        }
        fprintf(stderr, "secret key written to %s (mode 0600); keep it off the trading host\n",
                key);
        printf("%s\n", pk);
        return NX_EXIT_OK;
    }
    if (optind != argc - 1) {
        help(stderr);
        return NX_EXIT_USAGE;
    }
    const char *file = argv[optind];
    if (!strcmp(verb, "sign")) {
        if (nx_sign_file(file, key, err, sizeof err)) {
            fprintf(stderr, "nexus plugin sign: %s\n", err);
            return NX_EXIT_FAIL;
        }
        printf("%s.sig written\n", file);
        return NX_EXIT_OK;
    }
    if (!strcmp(verb, "verify")) {
        static nx_config_t cfg;
        static nx_config_errors_t errs;
        if (config) {
            if (nx_config_load(config, &cfg, &errs)) {
                nx_config_errors_print(&errs, stderr);
                return NX_EXIT_CONFIG;
            }
            for (uint32_t i = 0; i < cfg.cortex.n_keys && ntrust < NX_CONFIG_MAX_KEYS; i++)
                trust[ntrust++] = cfg.cortex.trusted_keys[i];
        }
        if (!ntrust) {
            fprintf(stderr, "nexus plugin verify: no trusted key (use --config or --trust)\n");
            return NX_EXIT_USAGE;
        }
        if (nx_sign_verify_file(file, trust, ntrust, err, sizeof err)) {
            fprintf(stderr, "nexus plugin verify: %s: %s\n", file, err);
            return NX_EXIT_FAIL;
        }
        printf("%s: signature OK\n", file);
        return NX_EXIT_OK;
    }
    fprintf(stderr, "nexus plugin: unknown action '%s'\n", verb);
    help(stderr);
    return NX_EXIT_USAGE;
}
