// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The catalog (`xenbus.cat`).
//!
//! A PKCS#7 `SignedData` (no signer yet) whose content is a Microsoft certificate trust list (`szOID_CTL`, 1.3.6.1.4.1.311.10.1) listing one member per
//! package file, laid out as `MakeCat` and `Inf2Cat` write a version 2 (SHA-256) catalog:
//!
//! ```text
//! CTL ::= SEQUENCE {
//!   subjectUsage       SEQUENCE OF OID        -- szOID_CATALOG_LIST 1.3.6.1.4.1.311.12.1.1
//!   listIdentifier     OCTET STRING
//!   thisUpdate         UTCTime
//!   subjectAlgorithm   AlgorithmIdentifier    -- szOID_CATALOG_LIST_MEMBER2 ...12.1.3, NULL
//!   trustedSubjects    SEQUENCE OF SEQUENCE {
//!     identifier       OCTET STRING           -- the member's SHA-256 digest
//!     attributes       SET OF Attribute }     -- member info, name-values, the indirect data
//!   extensions     [0] EXPLICIT SEQUENCE OF Extension OPTIONAL }  -- catalog name-values
//! ```
//!
//! Each member carries `CAT_MEMBERINFO2` (its subject type: PE image or flat file), a `File`
//! name-value (its name), an `OSAttr` name-value, and `SPC_INDIRECT_DATA` with the digest
//! Windows recomputes: the Authenticode digest of a PE image (`SPC_PE_IMAGE_DATA`) or the
//! plain digest of any other file (`SPC_CAB_DATA`, as catalogs mark flat files). The catalog's
//! own name-values are the target OS (`OS`, `OSAttr`) and the INF's hardware IDs (`HWID1`...).

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerInfos};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, BmpString, Null, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Sequence, Tag, TagNumber, ValueOrd};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;

use crate::authenticode::pe_digest;

const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

/// `szOID_CTL`.
pub const MS_CTL: ObjectIdentifier = oid("1.3.6.1.4.1.311.10.1");
/// `szOID_CATALOG_LIST`.
pub const CATALOG_LIST: ObjectIdentifier = oid("1.3.6.1.4.1.311.12.1.1");
/// `szOID_CATALOG_LIST_MEMBER2` (version 2, SHA-256 members).
pub const CATALOG_LIST_MEMBER2: ObjectIdentifier = oid("1.3.6.1.4.1.311.12.1.3");
/// `CAT_NAMEVALUE_OBJID`.
pub const CAT_NAMEVALUE: ObjectIdentifier = oid("1.3.6.1.4.1.311.12.2.1");
/// `CAT_MEMBERINFO2_OBJID`.
pub const CAT_MEMBERINFO2: ObjectIdentifier = oid("1.3.6.1.4.1.311.12.2.3");
/// `SPC_INDIRECT_DATA_OBJID`.
pub const SPC_INDIRECT_DATA: ObjectIdentifier = oid("1.3.6.1.4.1.311.2.1.4");
/// `SPC_PE_IMAGE_DATAOBJ`.
pub const SPC_PE_IMAGE_DATA: ObjectIdentifier = oid("1.3.6.1.4.1.311.2.1.15");
/// `SPC_CAB_DATA_OBJID` (flat files in a catalog).
pub const SPC_CAB_DATA: ObjectIdentifier = oid("1.3.6.1.4.1.311.2.1.25");
/// SHA-256.
pub const SHA256: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.1");
/// PKCS#7 `signedData`.
pub const SIGNED_DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.2");
/// `CRYPTCAT_ATTR_AUTHENTICATED | CRYPTCAT_ATTR_NAMEASCII | CRYPTCAT_ATTR_DATAASCII`: the
/// flags of a plain-text name-value.
pub const NAMEVALUE_FLAGS: u32 = 0x1001_0001;

/// An X.509-style attribute: a type and a set of values.
#[derive(Debug, Clone, PartialEq, Eq, Sequence, ValueOrd)]
pub struct Attribute {
    /// The type.
    pub oid: ObjectIdentifier,
    /// The values.
    pub values: SetOfVec<Any>,
}

/// `CAT_NAMEVALUE`: a named, flagged UTF-16 value.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct NameValue {
    /// The name (`File`, `OSAttr`, `HWID1`).
    pub name: BmpString,
    /// [`NAMEVALUE_FLAGS`].
    pub flags: i64,
    /// The value: UTF-16LE with a terminating NUL.
    pub value: OctetString,
}

/// A catalog-level extension (`critical` left out: never set).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct Extension {
    /// The type ([`CAT_NAMEVALUE`]).
    pub oid: ObjectIdentifier,
    /// The DER of the value.
    pub value: OctetString,
}

/// One member of the list.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct TrustedSubject {
    /// The member's digest.
    pub identifier: OctetString,
    /// Its attributes.
    pub attributes: SetOfVec<Attribute>,
}

/// The certificate trust list.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct Ctl {
    /// [`CATALOG_LIST`].
    pub subject_usage: Vec<ObjectIdentifier>,
    /// An identifier of this list.
    pub list_identifier: OctetString,
    /// When the list was made.
    pub this_update: UtcTime,
    /// [`CATALOG_LIST_MEMBER2`] with NULL parameters.
    pub subject_algorithm: AlgorithmIdentifierOwned,
    /// The members, by identifier.
    pub trusted_subjects: Vec<TrustedSubject>,
    /// The catalog's name-values.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub extensions: Option<Vec<Extension>>,
}

/// What a member is, for Windows' subject interface packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A PE image (Authenticode digest).
    Pe,
    /// Any other file (digest of the bytes).
    Flat,
}

/// One file to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its file name in the package.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its SHA-256 digest (Authenticode for a PE image).
    pub digest: Vec<u8>,
}

impl Member {
    /// The member for file `name` with contents `bytes`: a PE image when it starts with `MZ`
    /// and parses as one.
    ///
    /// # Errors
    /// When a file that starts with `MZ` is not a well-formed PE image.
    pub fn of_file(name: &str, bytes: &[u8]) -> Result<Self, String> {
        let (kind, digest) = if bytes.starts_with(b"MZ") {
            (
                Kind::Pe,
                pe_digest::<Sha256>(bytes).map_err(|e| format!("{name}: {e}"))?,
            )
        } else {
            (Kind::Flat, Sha256::digest(bytes).to_vec())
        };
        Ok(Self {
            name: name.to_owned(),
            kind,
            digest,
        })
    }
}

/// What the catalog says about the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSpec {
    /// The files.
    pub members: Vec<Member>,
    /// The hardware IDs the INF installs on.
    pub hardware_ids: Vec<String>,
    /// `OS` (`Inf2Cat`'s name of the target, `_v100_X64`).
    pub os: String,
    /// `OSAttr` (`2:10.0`: Windows NT 10.0).
    pub os_attr: String,
    /// When the catalog was made, seconds since 1970 (the build's source date).
    pub time: u64,
}

fn der_err(e: der::Error) -> String {
    format!("ASN.1: {e}")
}

/// UTF-16LE with a terminating NUL.
fn utf16z(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn name_value(name: &str, value: &str) -> Result<NameValue, String> {
    Ok(NameValue {
        name: BmpString::from_utf8(name).map_err(der_err)?,
        flags: i64::from(NAMEVALUE_FLAGS),
        value: OctetString::new(utf16z(value)).map_err(der_err)?,
    })
}

fn any_of(value: &(impl der::EncodeValue + der::Tagged)) -> Result<Any, String> {
    Any::encode_from(value).map_err(der_err)
}

/// A context-specific value `[number]` holding `content`.
fn tagged(number: u8, constructed: bool, content: &[u8]) -> Result<Any, String> {
    let tag = Tag::ContextSpecific {
        constructed,
        number: TagNumber::new(number),
    };
    Any::new(tag, content).map_err(der_err)
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, String> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(der_err)?;
    Ok(Attribute { oid, values })
}

fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: SHA256,
        parameters: Some(Any::from(Null)),
    }
}

/// `SpcIndirectDataContent` for a member: what it is and its digest.
fn indirect_data(member: &Member) -> Result<Any, String> {
    // SpcLink: file [2] EXPLICIT SpcString, unicode [0] IMPLICIT BMPString.
    let link = |text: &str| -> Result<Any, String> {
        let bmp: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let unicode = tagged(0, false, &bmp)?.to_der().map_err(der_err)?;
        tagged(2, true, &unicode)
    };
    let (kind, value) = match member.kind {
        Kind::Pe => {
            // SpcPeImageData ::= SEQUENCE { flags BIT STRING, file [0] EXPLICIT SpcLink }
            let flags = BitString::new(0, Vec::new()).map_err(der_err)?;
            let file = tagged(0, true, &link("<<<Obsolete>>>")?.to_der().map_err(der_err)?)?;
            let mut content = flags.to_der().map_err(der_err)?;
            content.extend(file.to_der().map_err(der_err)?);
            (
                SPC_PE_IMAGE_DATA,
                Any::new(Tag::Sequence, content).map_err(der_err)?,
            )
        }
        Kind::Flat => (SPC_CAB_DATA, link("")?),
    };
    let mut data = kind.to_der().map_err(der_err)?;
    data.extend(value.to_der().map_err(der_err)?);
    let mut digest_info = sha256_algorithm().to_der().map_err(der_err)?;
    digest_info.extend(
        OctetString::new(member.digest.clone())
            .map_err(der_err)?
            .to_der()
            .map_err(der_err)?,
    );
    let mut content = Any::new(Tag::Sequence, data)
        .map_err(der_err)?
        .to_der()
        .map_err(der_err)?;
    content.extend(
        Any::new(Tag::Sequence, digest_info)
            .map_err(der_err)?
            .to_der()
            .map_err(der_err)?,
    );
    Any::new(Tag::Sequence, content).map_err(der_err)
}

fn subject(member: &Member, os_attr: &str) -> Result<TrustedSubject, String> {
    let subject_type = match member.kind {
        Kind::Pe => 0,
        Kind::Flat => 2,
    };
    let mut attributes = SetOfVec::new();
    for a in [
        attribute(CAT_MEMBERINFO2, tagged(subject_type, false, &[])?)?,
        attribute(CAT_NAMEVALUE, any_of(&name_value("File", &member.name)?)?)?,
        attribute(CAT_NAMEVALUE, any_of(&name_value("OSAttr", os_attr)?)?)?,
        attribute(SPC_INDIRECT_DATA, indirect_data(member)?)?,
    ] {
        attributes.insert(a).map_err(der_err)?;
    }
    Ok(TrustedSubject {
        identifier: OctetString::new(member.digest.clone()).map_err(der_err)?,
        attributes,
    })
}

/// The certificate trust list of `spec`, members in the order of their identifiers.
///
/// # Errors
/// When a value cannot be encoded, or two members have the same digest.
pub fn ctl(spec: &CatalogSpec) -> Result<Ctl, String> {
    let mut members: Vec<&Member> = spec.members.iter().collect();
    members.sort_by(|a, b| a.digest.cmp(&b.digest));
    if let Some(w) = members
        .windows(2)
        .find(|w| w.first().map(|m| &m.digest) == w.last().map(|m| &m.digest))
    {
        let names: Vec<&str> = w.iter().map(|m| m.name.as_str()).collect();
        return Err(format!(
            "files with the same contents: {}",
            names.join(", ")
        ));
    }
    let trusted_subjects = members
        .iter()
        .map(|m| subject(m, &spec.os_attr))
        .collect::<Result<Vec<_>, _>>()?;
    // A stable identifier: the first 16 bytes of a digest of the member digests.
    let mut id = Sha256::new();
    for m in &members {
        id.update(&m.digest);
    }
    let list_identifier =
        OctetString::new(id.finalize().get(..16).unwrap_or_default()).map_err(der_err)?;
    let mut names = vec![
        ("OS".to_owned(), spec.os.clone()),
        ("OSAttr".to_owned(), spec.os_attr.clone()),
    ];
    for (i, hwid) in spec.hardware_ids.iter().enumerate() {
        names.push((format!("HWID{}", i + 1), hwid.to_ascii_lowercase()));
    }
    let extensions = names
        .iter()
        .map(|(n, v)| {
            Ok(Extension {
                oid: CAT_NAMEVALUE,
                value: OctetString::new(name_value(n, v)?.to_der().map_err(der_err)?)
                    .map_err(der_err)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let time = der::DateTime::from_unix_duration(std::time::Duration::from_secs(spec.time))
        .map_err(der_err)?;
    Ok(Ctl {
        subject_usage: vec![CATALOG_LIST],
        list_identifier,
        this_update: UtcTime::from_date_time(time).map_err(der_err)?,
        subject_algorithm: AlgorithmIdentifierOwned {
            oid: CATALOG_LIST_MEMBER2,
            parameters: Some(Any::from(Null)),
        },
        trusted_subjects,
        extensions: Some(extensions),
    })
}

/// The unsigned catalog file of `spec`: `ContentInfo { signedData { version 1, no digest
/// algorithms, content: the CTL, no certificates, no signers } }`, ready for a signing tool.
///
/// # Errors
/// As [`ctl`].
pub fn unsigned_catalog(spec: &CatalogSpec) -> Result<Vec<u8>, String> {
    let ctl = ctl(spec)?;
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: MS_CTL,
            // PKCS#7 (as Authenticode uses it): the content itself, not an OCTET STRING.
            econtent: Some(any_of(&ctl)?),
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    ContentInfo {
        content_type: SIGNED_DATA,
        content: any_of(&signed)?,
    }
    .to_der()
    .map_err(der_err)
}

/// The members of a catalog file (signed or not): each listed file's name and digest.
///
/// # Errors
/// When the file is not a catalog this module can read.
pub fn read_members(catalog: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let info = ContentInfo::from_der(catalog).map_err(der_err)?;
    let signed: SignedData = info.content.decode_as().map_err(der_err)?;
    if signed.encap_content_info.econtent_type != MS_CTL {
        return Err("content is not a certificate trust list".into());
    }
    let ctl: Ctl = signed
        .encap_content_info
        .econtent
        .ok_or("no content")?
        .decode_as()
        .map_err(der_err)?;
    let mut out = Vec::new();
    for s in ctl.trusted_subjects {
        let mut name = None;
        for a in s.attributes.iter().filter(|a| a.oid == CAT_NAMEVALUE) {
            for v in a.values.iter() {
                let nv: NameValue = v.decode_as().map_err(der_err)?;
                if nv.name.to_string() == "File" {
                    let units: Vec<u16> = nv
                        .value
                        .as_bytes()
                        .chunks_exact(2)
                        .map(|p| u16::from_le_bytes([p[0], p[1]]))
                        .take_while(|&u| u != 0)
                        .collect();
                    name = Some(String::from_utf16_lossy(&units));
                }
            }
        }
        out.push((name.unwrap_or_default(), s.identifier.as_bytes().to_vec()));
    }
    Ok(out)
}
