//! Recognises an uploaded image by its bytes and reads its dimensions from its
//! header, without decoding it: PNG, JPEG, GIF and WebP only. Every read is
//! bounds-checked, so truncated or hostile input gives an error, never a panic.

/// The formats accepted for uploaded images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG (JFIF, Exif…).
    Jpeg,
    /// GIF 87a or 89a.
    Gif,
    /// WebP (lossy, lossless or extended).
    Webp,
}

impl ImageFormat {
    /// The `Content-Type` to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }
}

/// What the header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// The format, from the magic number.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why the bytes were not read as an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// No known magic number.
    UnknownFormat,
    /// A known magic number, but the header is truncated or inconsistent.
    Malformed(ImageFormat),
}

/// The format and dimensions of `bytes`, judged by their content only.
pub fn read(bytes: &[u8]) -> Result<ImageInfo, HeaderError> {
    let format = sniff(bytes).ok_or(HeaderError::UnknownFormat)?;
    let dimensions = match format {
        ImageFormat::Png => png(bytes),
        ImageFormat::Jpeg => jpeg(bytes),
        ImageFormat::Gif => gif(bytes),
        ImageFormat::Webp => webp(bytes),
    };
    let (width, height) = dimensions.ok_or(HeaderError::Malformed(format))?;
    Ok(ImageInfo {
        format,
        width,
        height,
    })
}

/// Where the image ends: the byte after PNG's `IEND` chunk, JPEG's end-of-image
/// marker, GIF's trailer, or the RIFF container's declared size for WebP.
/// `None` when the structure cannot be walked to its end (truncated or
/// malformed). Anything after that end is not part of the image: a file can
/// be both a valid image and something else (an archive, HTML, a script)
/// appended to it, so uploads with trailing data are refused.
pub fn end(bytes: &[u8], format: ImageFormat) -> Option<usize> {
    match format {
        ImageFormat::Png => png_end(bytes),
        ImageFormat::Jpeg => jpeg_end(bytes),
        ImageFormat::Gif => gif_end(bytes),
        ImageFormat::Webp => webp_end(bytes),
    }
}

/// Chunks (length, type, data, CRC) from the signature up to `IEND`.
fn png_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 8;
    loop {
        let length = usize::try_from(u32_be(bytes, at)?).ok()?;
        let kind = bytes.get(at + 4..at + 8)?;
        let next = at.checked_add(12)?.checked_add(length)?;
        if next > bytes.len() {
            return None;
        }
        if kind == b"IEND" {
            return Some(next);
        }
        at = next;
    }
}

/// Segments up to each start of scan, then the entropy-coded data (where
/// `FF 00` is a data byte and `FF D0`–`FF D7` restart markers) up to the next
/// marker; progressive images have several scans. Ends after `FF D9`.
fn jpeg_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            0xD9 => return Some(at),
            0x01 | 0xD0..=0xD7 => continue,
            0x00 | 0xD8 => return None,
            _ => {}
        }
        let length = usize::try_from(u16_be(bytes, at)?).ok()?;
        if length < 2 {
            return None;
        }
        at = at.checked_add(length)?;
        if at > bytes.len() {
            return None;
        }
        if marker == 0xDA {
            // Entropy-coded data: up to a marker that is neither stuffing nor a restart.
            loop {
                if *bytes.get(at)? == 0xFF {
                    match *bytes.get(at + 1)? {
                        0x00 | 0xD0..=0xD7 => at += 2,
                        _ => break,
                    }
                } else {
                    at += 1;
                }
            }
        }
    }
}

/// Sub-blocks (a length byte, then that many bytes) up to the empty one.
fn gif_sub_blocks(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let length = usize::from(*bytes.get(at)?);
        at += 1;
        if length == 0 {
            return Some(at);
        }
        at = at.checked_add(length)?;
    }
}

/// Header, logical screen, global colour table, then extensions and images
/// up to the trailer `3B`.
fn gif_end(bytes: &[u8]) -> Option<usize> {
    let flags = *bytes.get(10)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 0x07) + 1);
    }
    loop {
        match *bytes.get(at)? {
            0x3B => return Some(at + 1),
            0x21 => {
                bytes.get(at + 1)?;
                at = gif_sub_blocks(bytes, at + 2)?;
            }
            0x2C => {
                let flags = *bytes.get(at + 9)?;
                at += 10;
                if flags & 0x80 != 0 {
                    at += 3 << ((flags & 0x07) + 1);
                }
                // LZW minimum code size, then the image data's sub-blocks.
                bytes.get(at)?;
                at = gif_sub_blocks(bytes, at + 1)?;
            }
            _ => return None,
        }
    }
}

/// `RIFF`, the size of what follows it (padded to even), `WEBP`…
fn webp_end(bytes: &[u8]) -> Option<usize> {
    let b = bytes.get(4..8)?;
    let size = usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()?;
    let end = size.checked_add(8)?;
    (end <= bytes.len() && size >= 4).then_some(end)
}

/// Whether the bytes look like SVG (or XML that may be SVG), which may carry scripts.
pub fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with("<?xml") || text.contains("<svg")
}

/// The image format a file's magic number names, if any.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

fn u16_be(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u32::from(u16::from_be_bytes([b[0], b[1]])))
}

fn u16_le(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u32::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u24_le(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

fn u32_be(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The IHDR chunk must come first, right after the signature.
fn png(bytes: &[u8]) -> Option<(u32, u32)> {
    if u32_be(bytes, 8)? != 13 || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((u32_be(bytes, 16)?, u32_be(bytes, 20)?))
}

/// The logical screen descriptor follows the 6-byte signature.
fn gif(bytes: &[u8]) -> Option<(u32, u32)> {
    Some((u16_le(bytes, 6)?, u16_le(bytes, 8)?))
}

/// Walks the marker segments up to the first start-of-frame (SOFn).
fn jpeg(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            // Markers without a length: TEM, RSTn.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan before any frame header; 0x00 is no marker.
            0x00 | 0xD8 | 0xD9 | 0xDA => return None,
            _ => {}
        }
        let length = usize::try_from(u16_be(bytes, at)?).ok()?;
        if length < 2 {
            return None;
        }
        // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = u16_be(bytes, at + 3)?;
            let width = u16_be(bytes, at + 5)?;
            return Some((width, height));
        }
        at = at.checked_add(length)?;
    }
}

/// The first chunk after `RIFF….WEBP` says which of the three encodings it is.
fn webp(bytes: &[u8]) -> Option<(u32, u32)> {
    let chunk = bytes.get(12..16)?;
    let data = 20;
    match chunk {
        b"VP8 " => {
            // Frame tag (3 bytes), then the key frame start code.
            if bytes.get(data + 3..data + 6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            // The top two bits of each are the scaling factor.
            Some((
                u16_le(bytes, data + 6)? & 0x3FFF,
                u16_le(bytes, data + 8)? & 0x3FFF,
            ))
        }
        b"VP8L" => {
            if *bytes.get(data)? != 0x2F {
                return None;
            }
            let b = bytes.get(data + 1..data + 5)?;
            let bits = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            // Two 14-bit fields, each the dimension minus one.
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => {
            // Flags (1 byte) and reserved (3), then two 24-bit fields, each minus one.
            Some((u24_le(bytes, data + 4)? + 1, u24_le(bytes, data + 7)? + 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    fn info(format: ImageFormat, width: u32, height: u32) -> Result<ImageInfo, HeaderError> {
        Ok(ImageInfo {
            format,
            width,
            height,
        })
    }

    #[test]
    fn png_ihdr() {
        assert_eq!(
            read(&png_bytes(1400, 3200)),
            info(ImageFormat::Png, 1400, 3200)
        );
        let mut not_ihdr = png_bytes(1, 1);
        not_ihdr[12..16].copy_from_slice(b"IDAT");
        assert_eq!(
            read(&not_ihdr),
            Err(HeaderError::Malformed(ImageFormat::Png))
        );
    }

    #[test]
    fn gif_logical_screen() {
        let gif = b"GIF89a\x78\x05\x80\x0c\x00\x00\x00";
        assert_eq!(read(gif), info(ImageFormat::Gif, 1400, 3200));
        assert_eq!(
            read(b"GIF87a\x01"),
            Err(HeaderError::Malformed(ImageFormat::Gif))
        );
    }

    #[test]
    fn jpeg_skips_segments_up_to_the_frame_header() {
        let jpeg = [
            0xFF, 0xD8, // SOI
            0xFF, 0xE0, 0x00, 0x04, b'J', b'F', // APP0, length 4
            0xFF, 0xFF, 0xC4, 0x00, 0x02, // fill byte, DHT with no data
            0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x0C, 0x80, 0x05, 0x78, 0x03, 0, 0, 0, // SOF2
        ];
        assert_eq!(read(&jpeg), info(ImageFormat::Jpeg, 1400, 3200));
        // Start of scan before any frame header.
        assert_eq!(
            read(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]),
            Err(HeaderError::Malformed(ImageFormat::Jpeg))
        );
        // A length below 2 would never advance.
        assert_eq!(
            read(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0xFF, 0xC0]),
            Err(HeaderError::Malformed(ImageFormat::Jpeg))
        );
    }

    fn riff(chunk: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut b = b"RIFF\0\0\0\0WEBP".to_vec();
        b.extend_from_slice(chunk);
        b.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn webp_three_encodings() {
        let lossy = riff(
            b"VP8 ",
            &[0, 0, 0, 0x9D, 0x01, 0x2A, 0x78, 0x45, 0x80, 0xCC],
        );
        // The scaling bits (top two) are not part of the size.
        assert_eq!(read(&lossy), info(ImageFormat::Webp, 1400, 3200));
        // 1399 and 3199 in two 14-bit fields.
        let bits: u32 = 1399 | (3199 << 14);
        let mut lossless = vec![0x2F];
        lossless.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(
            read(&riff(b"VP8L", &lossless)),
            info(ImageFormat::Webp, 1400, 3200)
        );
        let extended = riff(b"VP8X", &[0x10, 0, 0, 0, 0x77, 0x05, 0, 0x7F, 0x0C, 0]);
        assert_eq!(read(&extended), info(ImageFormat::Webp, 1400, 3200));
        assert_eq!(
            read(&riff(b"ALPH", &[0; 10])),
            Err(HeaderError::Malformed(ImageFormat::Webp))
        );
    }

    fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        png.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&[0; 4]);
    }

    #[test]
    fn the_end_of_each_format_is_found_and_trailing_data_shows() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut png, b"IHDR", &[0, 0, 0, 9, 0, 0, 0, 9, 8, 2, 0, 0, 0]);
        chunk(&mut png, b"IDAT", &[1, 2, 3]);
        chunk(&mut png, b"IEND", &[]);
        let jpeg = vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0, // SOI, APP0
            0xFF, 0xC0, 0x00, 0x0B, 8, 0, 9, 0, 9, 1, 1, 0x11, 0, // SOF0
            0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0, // SOS
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, // data, stuffing, RST0
            0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0, 0x78, // a second scan
            0xFF, 0xD9, // EOI
        ];
        let gif = [
            &b"GIF89a\x09\x00\x09\x00\x80\x00\x00"[..],
            &[0, 0, 0, 255, 255, 255],          // global colour table (2)
            &[0x21, 0xF9, 4, 0, 0, 0, 0, 0],    // graphic control extension
            &[0x2C, 0, 0, 0, 0, 9, 0, 9, 0, 0], // image descriptor
            &[2, 2, 0x4C, 0x01, 0],             // LZW size, one sub-block, end
            &[0x3B],                            // trailer
        ]
        .concat();
        let mut webp = riff(b"VP8 ", &[0, 0, 0, 0x9D, 0x01, 0x2A, 9, 0, 9, 0]);
        let size = u32::try_from(webp.len() - 8).unwrap();
        webp[4..8].copy_from_slice(&size.to_le_bytes());
        for image in [&png, &jpeg, &gif, &webp] {
            let format = read(image).expect("image").format;
            assert_eq!(end(image, format), Some(image.len()), "{format:?}");
            // Something appended after the end.
            let mut polyglot = image.clone();
            polyglot.extend_from_slice(b"PK\x03\x04<script>");
            assert_eq!(end(&polyglot, format), Some(image.len()), "{format:?}");
            // Truncated: no end.
            for cut in [image.len() - 1, image.len() / 2] {
                assert_eq!(end(&image[..cut], format), None, "{format:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn names_and_text_are_not_images() {
        assert_eq!(read(b""), Err(HeaderError::UnknownFormat));
        assert_eq!(
            read(b"<html><script>alert(1)</script>"),
            Err(HeaderError::UnknownFormat)
        );
        let svg = b"<?xml version=\"1.0\"?><svg onload=\"alert(1)\"/>";
        assert_eq!(read(svg), Err(HeaderError::UnknownFormat));
        assert!(looks_like_svg(svg));
        assert!(looks_like_svg(b"\xef\xbb\xbf  <SVG xmlns=\"x\">"));
        assert!(!looks_like_svg(&png_bytes(1, 1)));
    }

    #[test]
    fn every_truncation_fails_without_panicking() {
        let bits: u32 = 9 | (9 << 14);
        let mut lossless = vec![0x2F];
        lossless.extend_from_slice(&bits.to_le_bytes());
        let samples = [
            png_bytes(10, 10)[..24].to_vec(),
            b"GIF89a\x0a\x00\x0a\x00".to_vec(),
            vec![
                0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0, 0xFF, 0xC0, 0x00, 0x0B, 8, 0, 10, 0, 10,
            ],
            riff(b"VP8 ", &[0, 0, 0, 0x9D, 0x01, 0x2A, 10, 0, 10, 0]),
            riff(b"VP8L", &lossless),
            riff(b"VP8X", &[0, 0, 0, 0, 9, 0, 0, 9, 0, 0]),
        ];
        for sample in &samples {
            let full = read(sample).expect("complete sample");
            assert_eq!((full.width, full.height), (10, 10), "{:?}", full.format);
            for cut in 0..sample.len() {
                let result = read(&sample[..cut]);
                assert!(result.is_err(), "{:?} cut at {cut}", full.format);
            }
        }
    }

    #[test]
    fn hostile_jpeg_lengths_stay_in_bounds() {
        // Huge lengths, markers at the very end, runs of fill bytes.
        for tail in [
            &[0xFF, 0xE0, 0xFF, 0xFF][..],
            &[0xFF, 0xFF, 0xFF, 0xFF],
            &[0xFF],
            &[0x00, 0x00],
            &[0xFF, 0xC0, 0x00, 0x05, 0x08],
        ] {
            let mut bytes = vec![0xFF, 0xD8];
            bytes.extend_from_slice(tail);
            assert!(read(&bytes).is_err(), "{tail:?}");
        }
    }
}
