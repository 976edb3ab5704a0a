#!/usr/bin/env bash
# gen-pki.sh OUTDIR - generate tlsrig's test PKI into OUTDIR with the openssl CLI only.
#
# Idempotent: does nothing when OUTDIR/.complete exists and this script is not newer than it.
# Otherwise it builds everything in a temporary folder beside OUTDIR, checks it, and renames
# it to OUTDIR at the end, so an interrupted run never leaves a half PKI behind.
# Quiet on success; on failure it names the step and shows openssl's output.
#
# Validity windows are fixed (not "now + N days") because the rig's virtual clock starts at
# 2026-01-01T00:00:00Z and tests move it forward to expire certificates:
#   root-ca, inter-ca, untrusted-ca    2020-01-01 .. 2030-01-01
#   server-*, client-* leaves          2020-01-01 .. 2035-01-01
#   server-expired                     2020-01-01 .. 2021-01-01
#   server-shortlived                  2025-12-01 .. 2026-02-01
#   ocsp-response.der                  thisUpdate/producedAt 2025-12-01, nextUpdate 2035-01-01
# Times are 00:00:00Z. Note that the CAs expire before the leaves: past 2030-01-01 no chain
# verifies.
set -euo pipefail

prog=gen-pki.sh
die() {
    echo "$prog: error: $*" >&2
    exit 1
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $prog OUTDIR" >&2
    exit 2
fi
command -v openssl >/dev/null 2>&1 || die "the openssl command-line tool is not installed"

self=${BASH_SOURCE[0]}
out=${1%/}
[ -n "$out" ] || out=/
if [ -f "$out/.complete" ] && [ ! "$self" -nt "$out/.complete" ]; then
    exit 0
fi

parent=$(dirname -- "$out")
base=$(basename -- "$out")
mkdir -p -- "$parent" || die "cannot create $parent"
parent=$(cd -- "$parent" && pwd -P)
out=$parent/$base

tmp=$(mktemp -d "$parent/.$base.tmp.XXXXXX") || die "cannot create a temporary folder in $parent"
old=""
cleanup() {
    cd / || true
    rm -rf -- "$tmp"
    if [ -n "$old" ]; then rm -rf -- "$old"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

cd -- "$tmp"
w=.work # scratch: CA databases, CSRs, configs; removed before the rename
mkdir -p "$w"
steplog=$w/step.log

# Keep the system or user openssl configuration out of it.
printf '[req]\ndistinguished_name = req_dn\nprompt = no\n[req_dn]\n' >"$w/openssl.cnf"
export OPENSSL_CONF=$PWD/$w/openssl.cnf

fail_step() { # fail_step DESCRIPTION: report a failed step with its output and stop
    echo "$prog: error: $1" >&2
    if [ -s "$steplog" ]; then sed 's/^/    /' "$steplog" >&2; fi
    exit 1
}

# run CMD...: run quietly; on failure print the command and everything it printed.
run() {
    "$@" >"$steplog" 2>&1 || fail_step "step failed: $*"
}

# out_of CMD...: print the command's stdout (stderr kept for the error report).
out_of() {
    "$@" 2>"$steplog" || fail_step "step failed: $*"
}

# ---- validity windows (UTCTime, as `openssl ca -startdate/-enddate` wants) ----
T2020=200101000000Z
T2021=210101000000Z
T2025DEC=251201000000Z
T2026FEB=260201000000Z
T2030=300101000000Z
T2035=350101000000Z
CLOCK0=1767225600 # 2026-01-01T00:00:00Z, the virtual clock's start

PASSWORD=tlsrig-pass
SERVER_SAN="DNS:server.tlsrig.test,DNS:localhost,IP:127.0.0.1"
CLIENT_SAN="DNS:client.tlsrig.test"

# ---- keys ----
genkey() { # genkey KIND FILE   (KIND: rsa | p256 | p384 | ed25519); PKCS#8 PEM, unencrypted
    case $1 in
    rsa) run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
    p256) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$2" ;;
    p384) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
        -pkeyopt ec_param_enc:named_curve -out "$2" ;;
    ed25519) run openssl genpkey -algorithm ED25519 -out "$2" ;;
    *) die "internal: unknown key kind $1" ;;
    esac
}

# ---- CAs: one `openssl ca` database each, under .work/<name>/ ----
# Extensions take their variable parts from the environment (LEAF_KU, LEAF_EKU, LEAF_SAN).
export LEAF_KU=digitalSignature LEAF_EKU=serverAuth LEAF_SAN=$SERVER_SAN
make_ca_db() { # make_ca_db NAME FIRST_SERIAL_HEX
    local d=$w/$1
    mkdir -p "$d/newcerts"
    : >"$d/index.txt"
    echo "$2" >"$d/serial"
    cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = CA_default

[ CA_default ]
dir            = $d
database       = \$dir/index.txt
serial         = \$dir/serial
new_certs_dir  = \$dir/newcerts
default_md     = sha256
policy         = policy_tlsrig
unique_subject = no
email_in_dn    = no
copy_extensions = none

[ policy_tlsrig ]
organizationName = optional
commonName       = supplied

[ ext_root ]
basicConstraints       = critical,CA:true
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash

[ ext_inter ]
basicConstraints       = critical,CA:true,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_leaf ]
basicConstraints       = critical,CA:false
keyUsage               = critical,\$ENV::LEAF_KU
extendedKeyUsage       = \$ENV::LEAF_EKU
subjectAltName         = \$ENV::LEAF_SAN
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF
}

csr() { # csr KEY CN OUT
    run openssl req -new -key "$1" -subj "/O=tlsrig/CN=$2" -out "$3"
}

# self_sign_ca DB NAME KEYKIND CN: NAME.key, NAME.crt (self-signed CA, 2020..2030)
self_sign_ca() {
    genkey "$3" "$2.key"
    csr "$2.key" "$4" "$w/$2.csr"
    run openssl ca -batch -notext -config "$w/$1/ca.cnf" -selfsign -keyfile "$2.key" \
        -in "$w/$2.csr" -out "$2.crt" -startdate "$T2020" -enddate "$T2030" -extensions ext_root
}

# issue DB CA_NAME KEY CN OUT START END EXTSECTION
issue() {
    csr "$3" "$4" "$w/$5.csr"
    run openssl ca -batch -notext -config "$w/$1/ca.cnf" -cert "$2.crt" -keyfile "$2.key" \
        -in "$w/$5.csr" -out "$5" -startdate "$6" -enddate "$7" -extensions "$8"
}

# leaf DB CA_NAME NAME KEYKIND ROLE CN SAN [START END]
#   ROLE server|client; writes NAME.key and NAME.crt
leaf() {
    local db=$1 ca=$2 name=$3 kind=$4 role=$5 cn=$6 san=$7
    local start=${8:-$T2020} end=${9:-$T2035}
    genkey "$kind" "$name.key"
    if [ "$kind" = rsa ]; then
        LEAF_KU=digitalSignature,keyEncipherment
    else
        LEAF_KU=digitalSignature
    fi
    if [ "$role" = server ]; then LEAF_EKU=serverAuth; else LEAF_EKU=clientAuth; fi
    LEAF_SAN=$san
    issue "$db" "$ca" "$name.key" "$cn" "$name.crt" "$start" "$end" ext_leaf
}

# ---- root and intermediate ----
make_ca_db root 1000
make_ca_db inter 2000
make_ca_db untrusted 3000

self_sign_ca root root-ca rsa "tlsrig Test Root CA"
genkey p256 inter-ca.key
issue root root-ca inter-ca.key "tlsrig Test Intermediate CA" inter-ca.crt "$T2020" "$T2030" ext_inter

# ---- leaves under the intermediate ----
for kind in rsa p256 p384 ed25519; do
    leaf inter inter-ca "server-$kind" "$kind" server server.tlsrig.test "$SERVER_SAN"
done
leaf inter inter-ca server-expired p256 server server.tlsrig.test "$SERVER_SAN" "$T2020" "$T2021"
leaf inter inter-ca server-shortlived p256 server server.tlsrig.test "$SERVER_SAN" \
    "$T2025DEC" "$T2026FEB"
leaf inter inter-ca server-wronghost p256 server other.example.invalid \
    "DNS:other.example.invalid"
for kind in rsa p256; do
    leaf inter inter-ca "client-$kind" "$kind" client client.tlsrig.test "$CLIENT_SAN"
done

# ---- a CA the trust stores do not know, and its leaves ----
self_sign_ca untrusted untrusted-ca p256 "tlsrig Untrusted CA"
leaf untrusted untrusted-ca server-untrusted p256 server server.tlsrig.test "$SERVER_SAN"
leaf untrusted untrusted-ca client-untrusted p256 client client.tlsrig.test "$CLIENT_SAN"

# ---- chain files: leaf + intermediate ----
chained=(server-rsa server-p256 server-p384 server-ed25519 server-expired server-shortlived
    server-wronghost client-rsa client-p256)
for n in "${chained[@]}"; do
    cat "$n.crt" inter-ca.crt >"$n.chain.pem"
done

# ---- encrypted key, DER copies ----
run openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -in server-rsa.key \
    -passout "pass:$PASSWORD" -out server-rsa-enc.key
printf '%s' "$PASSWORD" >server-rsa-enc.password
run openssl x509 -in server-rsa.crt -outform DER -out server-rsa.crt.der
# PKCS#1 RSAPrivateKey: readable by d2i_PrivateKey_bio and by d2i_RSAPrivateKey_bio alike.
run openssl rsa -in server-rsa.key -traditional -outform DER -out server-rsa.key.der

# ---- trust bundles ----
cat root-ca.crt inter-ca.crt >ca-bundle.pem
mkdir capath
for c in root-ca inter-ca; do
    h=$(out_of openssl x509 -hash -noout -in "$c.crt")
    i=0
    while [ -e "capath/$h.$i" ]; do i=$((i + 1)); done
    cp "$c.crt" "capath/$h.$i"
done

# ---- DH parameters: RFC 7919 ffdhe2048, PKCS#3 ----
run openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$w/dh.pem"
run openssl dhparam -in "$w/dh.pem" -out dh2048.pem
grep -q -- '-----BEGIN DH PARAMETERS-----' dh2048.pem ||
    die "dh2048.pem is not PKCS#3 (no BEGIN DH PARAMETERS)"

# ---- OCSP response for server-p256, signed by the intermediate ----
# `openssl ocsp` as a responder stamps producedAt/thisUpdate with the wall clock, which is
# after the virtual clock's start (a test at 2026-01-01 would see "not yet valid") and makes
# the file differ on every run. So the CertID comes from `openssl ocsp` (a request), and the
# response is assembled with fixed times and signed with `openssl dgst`.
run openssl ocsp -issuer inter-ca.crt -cert server-p256.crt -no_nonce -reqout "$w/ocsp-req.der"
req_dump=$(out_of openssl asn1parse -inform DER -in "$w/ocsp-req.der")
mapfile -t octets < <(sed -n 's/.*prim: OCTET STRING *\[HEX DUMP\]://p' <<<"$req_dump")
serial=$(sed -n 's/.*prim: INTEGER *://p' <<<"$req_dump")
if [ ${#octets[@]} -ne 2 ] || [ -z "$serial" ]; then
    die "unexpected OCSP request layout from openssl ocsp:"$'\n'"$req_dump"
fi
name_hash=${octets[0]} key_hash=${octets[1]}

hex_of() { od -An -v -tx1 "$1" | tr -d ' \n'; }
# shellcheck disable=SC2059,SC2001 # the format is made of \xHH escapes only
bin_of_hex() { printf "$(sed 's/../\\x&/g' <<<"$1")"; }
der_len() { # DER length octets, hex
    local n=$1
    if ((n < 128)); then
        printf '%02x' "$n"
    elif ((n < 256)); then
        printf '81%02x' "$n"
    elif ((n < 65536)); then
        printf '82%04x' "$n"
    else
        printf '83%06x' "$n"
    fi
}
der_wrap() { # der_wrap TAGHEX OUT IN...: OUT = TAG LENGTH (IN...)
    local tag=$1 dst=$2 n=0 f
    shift 2
    for f in "$@"; do n=$((n + $(wc -c <"$f"))); done
    { bin_of_hex "$tag$(der_len "$n")"; cat -- "$@"; } >"$dst"
}

cat >"$w/ocsp-tbs.cnf" <<EOF
asn1 = SEQUENCE:tbs
[tbs]
responderID = EXPLICIT:2,FORMAT:HEX,OCTETSTRING:$key_hash
producedAt  = GENTIME:20251201000000Z
responses   = SEQUENCE:responses
[responses]
r1 = SEQUENCE:single
[single]
certID     = SEQUENCE:certid
certStatus = IMPLICIT:0,NULL
thisUpdate = GENTIME:20251201000000Z
nextUpdate = EXPLICIT:0,GENTIME:20350101000000Z
[certid]
hashAlgorithm  = SEQUENCE:sha1
issuerNameHash = FORMAT:HEX,OCTETSTRING:$name_hash
issuerKeyHash  = FORMAT:HEX,OCTETSTRING:$key_hash
serialNumber   = INTEGER:0x$serial
[sha1]
algorithm  = OID:1.3.14.3.2.26
parameters = NULL
EOF
run openssl asn1parse -genconf "$w/ocsp-tbs.cnf" -noout -out "$w/ocsp-tbs.der"
run openssl dgst -sha256 -sign inter-ca.key -out "$w/ocsp-sig.bin" "$w/ocsp-tbs.der"
printf 'asn1 = SEQUENCE:alg\n[alg]\nalgorithm = OID:1.2.840.10045.4.3.2\n' >"$w/ocsp-alg.cnf"
run openssl asn1parse -genconf "$w/ocsp-alg.cnf" -noout -out "$w/ocsp-alg.der"
run openssl asn1parse -genstr "FORMAT:HEX,BITSTRING:$(hex_of "$w/ocsp-sig.bin")" -noout \
    -out "$w/ocsp-sigbits.der"
run openssl x509 -in inter-ca.crt -outform DER -out "$w/inter-ca.der"
der_wrap 30 "$w/ocsp-certseq.der" "$w/inter-ca.der"
der_wrap a0 "$w/ocsp-certs.der" "$w/ocsp-certseq.der"
der_wrap 30 "$w/ocsp-basic.der" "$w/ocsp-tbs.der" "$w/ocsp-alg.der" "$w/ocsp-sigbits.der" \
    "$w/ocsp-certs.der"
run openssl asn1parse -genstr "OID:1.3.6.1.5.5.7.48.1.1" -noout -out "$w/ocsp-type.der"
der_wrap 04 "$w/ocsp-basic-oct.der" "$w/ocsp-basic.der"
der_wrap 30 "$w/ocsp-rb.der" "$w/ocsp-type.der" "$w/ocsp-basic-oct.der"
der_wrap a0 "$w/ocsp-rbx.der" "$w/ocsp-rb.der"
run openssl asn1parse -genstr "ENUMERATED:0" -noout -out "$w/ocsp-status.der"
der_wrap 30 ocsp-response.der "$w/ocsp-status.der" "$w/ocsp-rbx.der"

# =========================== checks: a broken PKI fails here ===========================
verify_ok() { # verify_ok WHAT ARGS...: openssl verify must print "OK"
    local what=$1
    shift
    if ! openssl verify "$@" >"$steplog" 2>&1 || ! grep -q ': OK$' "$steplog"; then
        fail_step "check failed: $what (openssl verify $*)"
    fi
}
verify_fails() { # verify_fails WHAT REASON ARGS...: openssl verify must fail with REASON
    local what=$1 why=$2
    shift 2
    if openssl verify "$@" >"$steplog" 2>&1; then
        fail_step "check failed: $what verified but should not (openssl verify $*)"
    fi
    grep -qi -- "$why" "$steplog" ||
        fail_step "check failed: $what failed for another reason than '$why'"
}
same_key() { # same_key CERT KEY [pkey options]: the certificate holds the key's public half
    local crt=$1 key=$2
    shift 2
    local a b
    a=$(out_of openssl x509 -in "$crt" -noout -pubkey)
    b=$(out_of openssl pkey -in "$key" "$@" -pubout)
    [ "$a" = "$b" ] || die "check failed: $key does not match $crt"
}

at=(-attime "$CLOCK0")
chain=(-CAfile root-ca.crt -untrusted inter-ca.crt)
srv=(-purpose sslserver -verify_hostname server.tlsrig.test -verify_ip 127.0.0.1)

verify_ok "root-ca" "${at[@]}" -CAfile root-ca.crt root-ca.crt
verify_ok "inter-ca" "${at[@]}" -CAfile root-ca.crt inter-ca.crt
for kind in rsa p256 p384 ed25519; do
    verify_ok "server-$kind" "${at[@]}" "${chain[@]}" "${srv[@]}" "server-$kind.crt"
    verify_ok "server-$kind via its chain file" "${at[@]}" -CAfile root-ca.crt \
        -untrusted "server-$kind.chain.pem" "${srv[@]}" "server-$kind.chain.pem"
done
for kind in rsa p256; do
    verify_ok "client-$kind" "${at[@]}" "${chain[@]}" -purpose sslclient "client-$kind.crt"
done
verify_ok "server-shortlived at the clock start" "${at[@]}" "${chain[@]}" "${srv[@]}" \
    server-shortlived.crt
verify_fails "server-shortlived after 2026-02-01" "expired" -attime $((CLOCK0 + 31 * 86400 + 1)) \
    "${chain[@]}" server-shortlived.crt
verify_fails "server-expired" "expired" "${at[@]}" "${chain[@]}" server-expired.crt
verify_ok "server-wronghost chain" "${at[@]}" "${chain[@]}" -purpose sslserver \
    -verify_hostname other.example.invalid server-wronghost.crt
verify_fails "server-wronghost as server.tlsrig.test" "hostname mismatch" "${at[@]}" \
    "${chain[@]}" -verify_hostname server.tlsrig.test server-wronghost.crt
verify_ok "server-untrusted under untrusted-ca" "${at[@]}" -CAfile untrusted-ca.crt \
    "${srv[@]}" server-untrusted.crt
verify_ok "client-untrusted under untrusted-ca" "${at[@]}" -CAfile untrusted-ca.crt \
    -purpose sslclient client-untrusted.crt
verify_fails "server-untrusted under root-ca" "unable to get local issuer" "${at[@]}" \
    "${chain[@]}" server-untrusted.crt
verify_ok "ca-bundle.pem" "${at[@]}" -CAfile ca-bundle.pem server-rsa.crt
verify_ok "capath/" "${at[@]}" -CApath capath -no-CAfile -no-CAstore server-p384.crt

for n in server-rsa server-p256 server-p384 server-ed25519 server-expired server-shortlived \
    server-wronghost server-untrusted client-rsa client-p256 client-untrusted inter-ca \
    root-ca untrusted-ca; do
    same_key "$n.crt" "$n.key"
done
same_key server-rsa.crt server-rsa-enc.key -passin file:server-rsa-enc.password
same_key server-rsa.crt server-rsa.key.der -inform DER
cmp -s <(out_of openssl x509 -in server-rsa.crt.der -inform DER -outform DER) server-rsa.crt.der ||
    die "check failed: server-rsa.crt.der is not a DER certificate"
grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' server-rsa-enc.key ||
    die "check failed: server-rsa-enc.key is not an encrypted PKCS#8 key"
run openssl dhparam -in dh2048.pem -check -noout

ocsp_out=$(openssl ocsp -respin ocsp-response.der -issuer inter-ca.crt -cert server-p256.crt \
    -CAfile root-ca.crt -no_nonce 2>&1) ||
    { printf '%s\n' "$ocsp_out" >"$steplog"; fail_step "check failed: ocsp-response.der"; }
if ! grep -q '^Response verify OK' <<<"$ocsp_out" ||
    ! grep -q '^server-p256.crt: good' <<<"$ocsp_out" || grep -qi 'warning\|error' <<<"$ocsp_out"; then
    printf '%s\n' "$ocsp_out" >"$steplog"
    fail_step "check failed: ocsp-response.der"
fi

# ---- done: publish ----
rm -rf -- "$w"
chmod "$(printf '%o' $((0777 & ~$(umask))))" . # mktemp made it 0700
date -u +'generated %Y-%m-%dT%H:%M:%SZ by scripts/gen-pki.sh' >.complete
cd /
if [ -e "$out" ] || [ -L "$out" ]; then
    old=$parent/.$base.old.$$
    rm -rf -- "$old"
    mv -T -- "$out" "$old" || die "cannot move the old $out aside"
fi
if ! mv -T -- "$tmp" "$out" 2>/dev/null; then
    # Another run may have published at the same moment; its PKI is as good as ours.
    [ -f "$out/.complete" ] || die "cannot rename $tmp to $out"
fi
