//! A small, bounded ISO 9660 reader: enough to find files in the root
//! directory of a cloud-init seed the way a Linux guest does (Rock Ridge
//! names first, then Joliet, then plain ISO 9660 names). Written here rather
//! than taken from the library the operator writes seeds with, so the two
//! cannot agree on the same mistake.

use std::collections::BTreeMap;

const SECTOR: usize = 2048;
/// Seeds are tens of KiB; anything near this is not a seed.
pub const MAX_IMAGE_BYTES: usize = 16 * 1024 * 1024;
const MAX_ENTRIES: usize = 1024;

/// Why an image could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsoError {
    /// The image is larger than a seed can be.
    #[error("the image is {0} bytes, over the {MAX_IMAGE_BYTES}-byte limit for a seed")]
    TooLarge(usize),
    /// No primary volume descriptor.
    #[error("not an ISO 9660 image: {0}")]
    NotIso(&'static str),
    /// A structure points outside the image or is malformed.
    #[error("corrupt ISO 9660 image: {0}")]
    Corrupt(&'static str),
}

/// The root directory of an image: volume label and files by name.
///
/// File contents are borrowed from the image, not copied: directory
/// records may all point at the same extent, and copying each made an
/// image of 16 MiB with 1,024 such records ask for 16 GiB (found by the
/// ISO fuzz target).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsoRoot<'a> {
    /// The volume identifier (for a seed: `cidata`).
    pub label: String,
    /// Files in the root directory, by the name the guest would see.
    pub files: BTreeMap<String, &'a [u8]>,
}

fn u32_le(b: &[u8], at: usize) -> Result<usize, IsoError> {
    let s = b
        .get(at..at + 4)
        .ok_or(IsoError::Corrupt("field past the end of a record"))?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

struct Record<'a> {
    extent: usize,
    size: usize,
    is_dir: bool,
    name: &'a [u8],
    system_use: &'a [u8],
}

/// Iterates the records of one directory extent.
fn records(image: &[u8], extent: usize, size: usize) -> Result<Vec<Record<'_>>, IsoError> {
    let start = extent
        .checked_mul(SECTOR)
        .ok_or(IsoError::Corrupt("extent overflows"))?;
    let end = start
        .checked_add(size)
        .ok_or(IsoError::Corrupt("extent overflows"))?;
    let dir = image
        .get(start..end)
        .ok_or(IsoError::Corrupt("directory outside the image"))?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < dir.len() && out.len() < MAX_ENTRIES {
        let len = dir[pos] as usize;
        if len == 0 {
            // Records never cross sectors; zero padding means "next sector".
            pos = (pos / SECTOR + 1) * SECTOR;
            continue;
        }
        let rec = dir
            .get(pos..pos + len)
            .ok_or(IsoError::Corrupt("record past the directory end"))?;
        if len < 34 {
            return Err(IsoError::Corrupt("directory record shorter than 34 bytes"));
        }
        let name_len = rec[32] as usize;
        let name = rec
            .get(33..33 + name_len)
            .ok_or(IsoError::Corrupt("name past the record end"))?;
        let su_start = 33 + name_len + usize::from(name_len.is_multiple_of(2));
        out.push(Record {
            extent: u32_le(rec, 2)?,
            size: u32_le(rec, 10)?,
            is_dir: rec[25] & 0x02 != 0,
            name,
            system_use: rec.get(su_start..).unwrap_or_default(),
        });
        pos += len;
    }
    Ok(out)
}

/// The Rock Ridge alternate name (`NM` entries, possibly continued).
fn rock_ridge_name(system_use: &[u8]) -> Option<String> {
    let mut pos = 0;
    let mut name = Vec::new();
    while pos + 4 <= system_use.len() {
        let len = system_use[pos + 2] as usize;
        if len < 4 || pos + len > system_use.len() {
            break;
        }
        if &system_use[pos..pos + 2] == b"NM" && len >= 5 {
            name.extend_from_slice(&system_use[pos + 5..pos + len]);
        }
        pos += len;
    }
    (!name.is_empty()).then(|| String::from_utf8_lossy(&name).into_owned())
}

fn plain_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s = s.split(';').next().unwrap_or_default();
    s.trim_end_matches('.').to_lowercase()
}

fn joliet_name(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16_lossy(&units);
    s.split(';').next().unwrap_or_default().to_string()
}

/// Reads the root directory of an image.
pub fn read_root(image: &[u8]) -> Result<IsoRoot<'_>, IsoError> {
    if image.len() > MAX_IMAGE_BYTES {
        return Err(IsoError::TooLarge(image.len()));
    }
    let mut primary: Option<&[u8]> = None;
    let mut joliet: Option<&[u8]> = None;
    for sector in 16..64 {
        let Some(vd) = image.get(sector * SECTOR..(sector + 1) * SECTOR) else {
            break;
        };
        if &vd[1..6] != b"CD001" {
            return Err(IsoError::NotIso("volume descriptor signature missing"));
        }
        match vd[0] {
            1 => primary = Some(vd),
            // Joliet is a supplementary descriptor with a UCS-2 escape sequence.
            2 if matches!(&vd[88..91], b"%/@" | b"%/C" | b"%/E") => joliet = Some(vd),
            255 => break,
            _ => {}
        }
    }
    let primary = primary.ok_or(IsoError::NotIso("no primary volume descriptor"))?;
    let label = String::from_utf8_lossy(&primary[40..72])
        .trim_end()
        .to_string();

    let root_of = |vd: &[u8]| -> Result<(usize, usize), IsoError> {
        Ok((u32_le(vd, 156 + 2)?, u32_le(vd, 156 + 10)?))
    };
    let mut files = BTreeMap::new();
    let read = |r: &Record<'_>| -> Result<&[u8], IsoError> {
        let start = r
            .extent
            .checked_mul(SECTOR)
            .ok_or(IsoError::Corrupt("extent overflows"))?;
        image
            .get(start..start + r.size)
            .ok_or(IsoError::Corrupt("file data outside the image"))
    };
    let (extent, size) = root_of(primary)?;
    for r in records(image, extent, size)? {
        if r.is_dir || r.name == [0] || r.name == [1] {
            continue;
        }
        let name = rock_ridge_name(r.system_use).unwrap_or_else(|| plain_name(r.name));
        files.insert(name, read(&r)?);
    }
    // Without Rock Ridge names, Joliet gives the long names a guest would use.
    let has_long_names = files.keys().any(|k| k.contains('-'));
    if !has_long_names && let Some(vd) = joliet {
        let (extent, size) = root_of(vd)?;
        let mut long = BTreeMap::new();
        for r in records(image, extent, size)? {
            if r.is_dir || r.name == [0] || r.name == [1] {
                continue;
            }
            long.insert(joliet_name(r.name), read(&r)?);
        }
        if !long.is_empty() {
            files = long;
        }
    }
    Ok(IsoRoot { label, files })
}
