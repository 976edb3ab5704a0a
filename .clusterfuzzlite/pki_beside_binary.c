/*
 * pki_beside_binary.c - linked into the OSS-Fuzz / ClusterFuzzLite builds of the fuzz targets
 * only: points the harness at the test PKI shipped next to the binary.
 *
 * The harness reads its PKI from the directory in TLSRIG_PKI, else from the compile-time
 * TLSRIG_PKI_DIR (fz_pki_dir in fuzz/harness.c). build.sh copies pki/ to $OUT/tlsrig-pki and
 * compiles that path in, but the fuzzing infrastructure runs the targets from a copy of $OUT
 * in a directory of its own choosing, where the compiled-in path no longer exists. So before
 * main() this sets TLSRIG_PKI to <directory of the executable>/tlsrig-pki, when that directory
 * exists and TLSRIG_PKI is not set already (an explicit setting always wins).
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* readlink, setenv, PATH_MAX */
#endif
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PKI_LEAF "/tlsrig-pki"

__attribute__((constructor)) static void pki_beside_binary(void)
{
    char path[PATH_MAX];
    struct stat st;
    const char *env = getenv("TLSRIG_PKI");

    if (env != NULL && env[0] != '\0')
        return;
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0)
        return;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL || (size_t)(slash - path) + sizeof(PKI_LEAF) > sizeof(path))
        return;
    memcpy(slash, PKI_LEAF, sizeof(PKI_LEAF));
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        setenv("TLSRIG_PKI", path, 0);
}
