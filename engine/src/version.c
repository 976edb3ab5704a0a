/*
 * version.c - module-level facts about the linked OpenSSL.
 */
#include <openssl/crypto.h>

#include "internal.h"

const char *tlsrig_ssleay_version(int type)
{
    switch (type) {
    case OPENSSL_VERSION:
    case OPENSSL_CFLAGS:
    case OPENSSL_BUILT_ON:
    case OPENSSL_PLATFORM:
    case OPENSSL_DIR:
        return OpenSSL_version(type);
    default:
        return "not available";
    }
}

unsigned long tlsrig_openssl_version_number(void)
{
    return OpenSSL_version_num();
}
