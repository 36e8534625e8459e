//! The encrypted envelope EDT wraps its export in for a partner ENT:
//!
//! ```text
//! EXPORT_INDEX_EDUCATION/{VERSION, LOGICIEL, DATEHEURE, UAI, NOMETABLISSEMENT, CODEPOSTALVILLE,
//!   CLES/PARTENAIRE[@NOM]   base64 of RSA (PKCS#1 v1.5) over key (16) ‖ IV (16) ‖ MD5(key ‖ IV)
//!   CONTENU[@CompresseAvantChiffrement]   base64 of AES-128-CBC (PKCS#7) of the payload, zlib first if compressed
//!   VERIFICATION}           SHA-256 of the decrypted (still compressed) content, hex or base64
//! ```
//!
//! The region configures its partner name and RSA private key (PKCS#8 or
//! PKCS#1, PEM); [`open`] checks every step and says which one failed, in
//! French. [`seal`] does the reverse, for tests and the demo.
//!
//! The `rsa` crate's PKCS#1 v1.5 decryption is not constant-time (advisory
//! RUSTSEC-2023-0071, no fixed release yet): an attacker able to submit many
//! forged envelopes and time each answer finely could learn the key. Only an
//! establishment's manager uploads envelopes, one file at a time; the host
//! must keep it so (authenticated upload, no unauthenticated decryption path).

use std::io::Read;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest, Md5};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

use crate::tree::{self, Node};
use crate::{Problem, Problems};

/// The root element of an encrypted export.
pub const ROOT: &str = "EXPORT_INDEX_EDUCATION";

/// Most bytes a payload may decompress to (a lycée's export is a few MB).
const MAX_PAYLOAD: u64 = 200 * 1024 * 1024;

/// The region's key for EDT exports: its partner name and RSA private key.
#[derive(Clone)]
pub struct PartnerKey {
    /// The partner's name, as EDT writes it in `PARTENAIRE@NOM`.
    pub name: String,
    key: RsaPrivateKey,
}

impl std::fmt::Debug for PartnerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PartnerKey({:?}, clé RSA de {} bits)",
            self.name,
            self.bits()
        )
    }
}

impl PartnerKey {
    /// Reads a PEM private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(name: &str, pem: &str) -> Result<PartnerKey, String> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                "la clé partenaire n'est pas une clé privée RSA au format PEM (PKCS#8 ou PKCS#1)"
                    .to_owned()
            })?;
        Ok(PartnerKey {
            name: name.trim().to_owned(),
            key,
        })
    }

    /// A key from its parts (tests, a key generated on the spot).
    pub fn new(name: &str, key: RsaPrivateKey) -> PartnerKey {
        PartnerKey {
            name: name.to_owned(),
            key,
        }
    }

    /// The key's size in bits.
    pub fn bits(&self) -> usize {
        rsa::traits::PublicKeyParts::size(&self.key) * 8
    }

    /// The public half, for [`seal`].
    pub fn public(&self) -> RsaPublicKey {
        self.key.to_public_key()
    }
}

/// What the envelope says besides its content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `UAI`.
    pub uai: Option<String>,
    /// `NOMETABLISSEMENT`.
    pub establishment: Option<String>,
    /// `DATEHEURE`, as written.
    pub exported_at: Option<String>,
}

/// Opens an encrypted export with the region's key: the payload's bytes.
pub fn open(bytes: &[u8], key: &PartnerKey) -> Result<(Envelope, Vec<u8>), Problems> {
    let root = tree::read(bytes)?;
    let fail = |node: Option<&Node>, message: String| {
        let mut problems = Problems::default();
        problems.push(match node {
            Some(node) => node.problem(message),
            None => Problem::file(message),
        });
        problems
    };
    if root.name != ROOT {
        return Err(fail(
            None,
            format!(
                "ce n'est pas un export chiffré d'EDT (racine <{}>)",
                root.name
            ),
        ));
    }
    let envelope = Envelope {
        uai: root.text_of("UAI").map(str::to_owned),
        establishment: root.text_of("NOMETABLISSEMENT").map(str::to_owned),
        exported_at: root.text_of("DATEHEURE").map(str::to_owned),
    };
    let partners: Vec<&Node> = root.all("CLES/PARTENAIRE").collect();
    let Some(partner) = partners.iter().find(|p| {
        p.attribute("NOM")
            .is_some_and(|n| n.eq_ignore_ascii_case(&key.name))
    }) else {
        let names: Vec<&str> = partners.iter().filter_map(|p| p.attribute("NOM")).collect();
        return Err(fail(
            root.child("CLES"),
            format!(
                "ce fichier n'est pas chiffré pour le partenaire « {} » (partenaires du fichier : {}) ; demandez à l'établissement de refaire l'export pour l'ENT de la région",
                key.name,
                if names.is_empty() {
                    "aucun".to_owned()
                } else {
                    names.join(", ")
                }
            ),
        ));
    };
    let wrapped = BASE64
        .decode(strip_spaces(&partner.text))
        .map_err(|_| fail(Some(partner), "la clé chiffrée n'est pas du base64".into()))?;
    let secret = key.key.decrypt(Pkcs1v15Encrypt, &wrapped).map_err(|_| {
        fail(
            Some(partner),
            "la clé chiffrée ne s'ouvre pas avec la clé partenaire de la région (mauvaise clé ?)"
                .into(),
        )
    })?;
    if secret.len() < 48 || Md5::digest(&secret[..32]).as_slice() != &secret[32..48] {
        return Err(fail(
            Some(partner),
            "la clé déchiffrée est incohérente (contrôle MD5 en échec)".into(),
        ));
    }
    let content_node = root
        .child("CONTENU")
        .ok_or_else(|| fail(None, "l'élément <CONTENU> manque".into()))?;
    let encrypted = BASE64
        .decode(strip_spaces(&content_node.text))
        .map_err(|_| fail(Some(content_node), "le contenu n'est pas du base64".into()))?;
    let decrypted = cbc::Decryptor::<aes::Aes128>::new(secret[..16].into(), secret[16..32].into())
        .decrypt_padded_vec_mut::<Pkcs7>(&encrypted)
        .map_err(|_| {
            fail(
                Some(content_node),
                "le contenu ne se déchiffre pas (fichier abîmé ou tronqué)".into(),
            )
        })?;
    let check = root.child("VERIFICATION");
    let digest = Sha256::digest(&decrypted);
    let expected = check.map(|c| strip_spaces(&c.text)).unwrap_or_default();
    let matches = hex(&digest).eq_ignore_ascii_case(&expected) || BASE64.encode(digest) == expected;
    if !matches {
        return Err(fail(check, "le contrôle d'intégrité (SHA-256) ne correspond pas : le fichier a été modifié ou abîmé".into()));
    }
    let compressed = content_node
        .attribute("CompresseAvantChiffrement")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "oui"));
    let payload = if compressed {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(decrypted.as_slice())
            .take(MAX_PAYLOAD + 1)
            .read_to_end(&mut out)
            .map_err(|_| {
                fail(
                    Some(content_node),
                    "le contenu déchiffré ne se décompresse pas".into(),
                )
            })?;
        if out.len() as u64 > MAX_PAYLOAD {
            return Err(fail(
                Some(content_node),
                "le contenu décompressé dépasse 200 Mo".into(),
            ));
        }
        out
    } else {
        decrypted
    };
    Ok((envelope, payload))
}

/// Wraps `payload` as EDT would for the partner `name` (compressed).
pub fn seal(payload: &[u8], uai: &str, name: &str, public: &RsaPublicKey) -> Vec<u8> {
    let mut rng = rand::thread_rng();
    let mut secret = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rng, &mut secret[..32]);
    let sum = Md5::digest(&secret[..32]);
    secret[32..].copy_from_slice(&sum);
    let wrapped = public
        .encrypt(&mut rng, Pkcs1v15Encrypt, &secret)
        .expect("48 octets tiennent dans une clé RSA de 1024 bits ou plus");
    let mut compressed = Vec::new();
    {
        use std::io::Write;
        let mut encoder =
            flate2::write::ZlibEncoder::new(&mut compressed, flate2::Compression::default());
        encoder.write_all(payload).expect("écriture en mémoire");
        encoder.finish().expect("écriture en mémoire");
    }
    let encrypted = cbc::Encryptor::<aes::Aes128>::new(secret[..16].into(), secret[16..32].into())
        .encrypt_padded_vec_mut::<Pkcs7>(&compressed);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{ROOT}>\n  <VERSION>1</VERSION>\n  <LOGICIEL>EDT</LOGICIEL>\n  <CLES><PARTENAIRE NOM=\"{}\">{}</PARTENAIRE></CLES>\n  <CONTENU CompresseAvantChiffrement=\"true\">{}</CONTENU>\n  <VERIFICATION>{}</VERIFICATION>\n  <UAI>{}</UAI>\n</{ROOT}>\n",
        preau_text::escape(name),
        BASE64.encode(wrapped),
        BASE64.encode(&encrypted),
        hex(&Sha256::digest(&compressed)),
        preau_text::escape(uai)
    )
    .into_bytes()
}

fn strip_spaces(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edt::sample::Plan;
    use crate::edt::{Date, Style, write};

    fn key() -> PartnerKey {
        // 1024 bits: quick to generate; real partner keys are 2048.
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        PartnerKey::new("PREAU-REGION", private)
    }

    #[test]
    fn a_sealed_export_opens_with_the_partner_key_and_reads() {
        let key = key();
        let college = Plan::college(Date::parse_iso("2026-08-31").unwrap(), 3).generate();
        let payload = write(
            &college,
            Style {
                latin1: true,
                html_entities: true,
            },
        );
        let sealed = seal(&payload, "0420003A", "PREAU-REGION", &key.public());
        let (envelope, opened) = open(&sealed, &key).unwrap();
        assert_eq!(envelope.uai.as_deref(), Some("0420003A"));
        assert_eq!(opened, payload);
        let read = crate::edt::read(&sealed, Some(&key)).unwrap();
        assert_eq!(read.courses.len(), college.courses.len());
        // Without the key, the reader says what to do.
        let refused = crate::edt::read(&sealed, None).unwrap_err().report();
        assert!(refused.contains("clé partenaire"), "{refused}");
    }

    #[test]
    fn each_failing_step_is_named() {
        let key = key();
        let sealed =
            String::from_utf8(seal(b"<x/>", "0420003A", "PREAU-REGION", &key.public())).unwrap();
        let said = |text: &str, key: &PartnerKey| open(text.as_bytes(), key).unwrap_err().report();
        let other = PartnerKey::new("AUTRE-ENT", key.key.clone());
        assert!(said(&sealed, &other).contains("partenaires du fichier : PREAU-REGION"));
        let wrong_key = PartnerKey::new("PREAU-REGION", self::key().key);
        assert!(said(&sealed, &wrong_key).contains("mauvaise clé"));
        // One character of the content changed: the integrity check fails.
        let start = sealed.find("<CONTENU").unwrap() + 60;
        let mut tampered = sealed.clone();
        let flipped = if &sealed[start..start + 1] == "A" {
            "B"
        } else {
            "A"
        };
        tampered.replace_range(start..start + 1, flipped);
        let report = said(&tampered, &key);
        assert!(
            report.contains("SHA-256") || report.contains("ne se déchiffre pas"),
            "{report}"
        );
        let check = sealed.find("<VERIFICATION>").unwrap() + "<VERIFICATION>".len();
        let mut wrong_sum = sealed.clone();
        let digit = if &sealed[check..check + 1] == "0" {
            "1"
        } else {
            "0"
        };
        wrong_sum.replace_range(check..check + 1, digit);
        assert!(said(&wrong_sum, &key).contains("SHA-256"));
        assert!(
            PartnerKey::from_pem("X", "pas une clé")
                .unwrap_err()
                .contains("PEM")
        );
    }
}
