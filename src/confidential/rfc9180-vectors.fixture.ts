/**
 * RFC 9180 (HPKE) Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, Base
 * setup. Values from the standard, hex; used only by tests.
 */
export const RFC9180_A11 = {
  mode: 0,
  kemId: 32,
  kdfId: 1,
  aeadId: 1,
  info: "4f6465206f6e2061204772656369616e2055726e",
  pkEm: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  skEm: "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
  pkRm: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
  skRm: "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
  enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  sharedSecret: "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
  key: "4531685d41d65f03dc48f6b8302c05b0",
  baseNonce: "56d890e5accaaf011cff4b7d",
  exporterSecret: "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
  /** A.1.1.1 Encryptions: "Beauty is truth, truth beauty" with AAD "Count-<seq>". */
  encryptions: [
    { seq: 0, aad: "436f756e742d30", nonce: "56d890e5accaaf011cff4b7d", ct: "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a" },
    { seq: 1, aad: "436f756e742d31", nonce: "56d890e5accaaf011cff4b7c", ct: "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84" },
    { seq: 2, aad: "436f756e742d32", nonce: "56d890e5accaaf011cff4b7f", ct: "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180" },
    { seq: 255, aad: "436f756e742d323535", nonce: "56d890e5accaaf011cff4b82", ct: "7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a" },
  ],
  plaintext: "4265617574792069732074727574682c20747275746820626561757479",
  /** A.1.1.2 Exported Values (length 32). */
  exports: [
    { context: "", value: "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee" },
    { context: "00", value: "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5" },
    { context: "54657374436f6e74657874", value: "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931" },
  ],
} as const;
