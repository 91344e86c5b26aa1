//! SQLCipher's page crypto through RustCrypto instead of OpenSSL.
//!
//! `.cargo/config.toml` builds SQLCipher with
//! `-DSQLCIPHER_CRYPTO_CUSTOM=tend_sqlcipher_setup`, so at start-up it asks
//! this crate for its provider. It is a crate of its own so the `mobile`
//! profile can build it (and RustCrypto's primitives, whose generic code is
//! instantiated here) for speed while the rest is built for size. The algorithms are the OpenSSL provider's
//! (AES-256-CBC without padding, HMAC, PBKDF2-HMAC), so the files are the
//! same: `a_vault_written_with_the_openssl_provider_still_opens` proves it.
//! OpenSSL, which was most of the library's size, is no longer linked.
//! Tend vaults use HMAC-SHA256 pages and PBKDF2-HMAC-SHA512 for the page
//! HMAC key; SHA-1 (SQLCipher 3 and older) is refused.

use std::ffi::{c_char, c_int, c_void};

use aes::Aes256;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Sha256, Sha512};

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
const ENCRYPT: c_int = 1;
const HMAC_SHA256: c_int = 1;
const HMAC_SHA512: c_int = 2;
const KEY_SZ: c_int = 32;
const IV_SZ: c_int = 16;
const BLOCK_SZ: c_int = 16;

type Ctx = *mut c_void;

/// `struct sqlcipher_provider` of SQLCipher 4.
#[repr(C)]
pub struct Provider {
    init: Option<unsafe extern "C" fn() -> c_int>,
    shutdown: Option<unsafe extern "C" fn()>,
    get_provider_name: Option<unsafe extern "C" fn(Ctx) -> *const c_char>,
    add_random: Option<unsafe extern "C" fn(Ctx, *const c_void, c_int) -> c_int>,
    random: Option<unsafe extern "C" fn(Ctx, *mut c_void, c_int) -> c_int>,
    #[allow(clippy::type_complexity)]
    hmac: Option<
        unsafe extern "C" fn(
            Ctx,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    #[allow(clippy::type_complexity)]
    kdf: Option<
        unsafe extern "C" fn(
            Ctx,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            c_int,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    #[allow(clippy::type_complexity)]
    cipher: Option<
        unsafe extern "C" fn(
            Ctx,
            c_int,
            *const u8,
            c_int,
            *const u8,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    get_cipher: Option<unsafe extern "C" fn(Ctx) -> *const c_char>,
    get_key_sz: Option<unsafe extern "C" fn(Ctx) -> c_int>,
    get_iv_sz: Option<unsafe extern "C" fn(Ctx) -> c_int>,
    get_block_sz: Option<unsafe extern "C" fn(Ctx) -> c_int>,
    get_hmac_sz: Option<unsafe extern "C" fn(Ctx, c_int) -> c_int>,
    ctx_init: Option<unsafe extern "C" fn(*mut Ctx) -> c_int>,
    ctx_free: Option<unsafe extern "C" fn(*mut Ctx) -> c_int>,
    fips_status: Option<unsafe extern "C" fn(Ctx) -> c_int>,
    get_provider_version: Option<unsafe extern "C" fn(Ctx) -> *const c_char>,
    next: *mut Provider,
}

/// Called by SQLCipher once, at start-up, to fill in its provider.
///
/// # Safety
/// `p` points to a writable `sqlcipher_provider`, as SQLCipher passes it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tend_sqlcipher_setup(p: *mut Provider) -> c_int {
    // SAFETY: SQLCipher hands over a valid, exclusively owned provider.
    let Some(p) = (unsafe { p.as_mut() }) else {
        return SQLITE_ERROR;
    };
    p.init = None;
    p.shutdown = None;
    p.get_provider_name = Some(name);
    p.add_random = Some(add_random);
    p.random = Some(random);
    p.hmac = Some(hmac);
    p.kdf = Some(kdf);
    p.cipher = Some(cipher);
    p.get_cipher = Some(cipher_name);
    p.get_key_sz = Some(key_sz);
    p.get_iv_sz = Some(iv_sz);
    p.get_block_sz = Some(block_sz);
    p.get_hmac_sz = Some(hmac_sz);
    p.ctx_init = Some(ctx_none);
    p.ctx_free = Some(ctx_none);
    p.fips_status = Some(fips_status);
    p.get_provider_version = Some(version);
    SQLITE_OK
}

/// Keeps the setup function in every binary that opens a vault: SQLCipher's
/// static library, linked after the Rust code, names it.
pub fn linked() -> usize {
    std::hint::black_box(tend_sqlcipher_setup as *const () as usize)
}

unsafe extern "C" fn name(_: Ctx) -> *const c_char {
    c"rustcrypto".as_ptr()
}

unsafe extern "C" fn version(_: Ctx) -> *const c_char {
    c"aes-0.8 cbc-0.1 hmac-0.12 sha2-0.10 pbkdf2-0.12".as_ptr()
}

unsafe extern "C" fn cipher_name(_: Ctx) -> *const c_char {
    c"AES-256-CBC".as_ptr()
}

unsafe extern "C" fn key_sz(_: Ctx) -> c_int {
    KEY_SZ
}

unsafe extern "C" fn iv_sz(_: Ctx) -> c_int {
    IV_SZ
}

unsafe extern "C" fn block_sz(_: Ctx) -> c_int {
    BLOCK_SZ
}

unsafe extern "C" fn hmac_sz(_: Ctx, algorithm: c_int) -> c_int {
    match algorithm {
        HMAC_SHA256 => 32,
        HMAC_SHA512 => 64,
        _ => 0,
    }
}

unsafe extern "C" fn ctx_none(_: *mut Ctx) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn fips_status(_: Ctx) -> c_int {
    0
}

unsafe extern "C" fn add_random(_: Ctx, _: *const c_void, _: c_int) -> c_int {
    // The operating system's generator needs no seeding from SQLCipher.
    SQLITE_OK
}

unsafe extern "C" fn random(_: Ctx, buffer: *mut c_void, length: c_int) -> c_int {
    // SAFETY: SQLCipher passes a buffer of `length` writable bytes.
    let Some(out) = (unsafe { slice_mut(buffer.cast(), length) }) else {
        return SQLITE_ERROR;
    };
    match rand::rngs::OsRng.try_fill_bytes(out) {
        Ok(()) => SQLITE_OK,
        Err(_) => SQLITE_ERROR,
    }
}

/// HMAC of `in` followed by `in2` (the page number).
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn hmac(
    _: Ctx,
    algorithm: c_int,
    key: *const u8,
    key_sz: c_int,
    in1: *const u8,
    in1_sz: c_int,
    in2: *const u8,
    in2_sz: c_int,
    out: *mut u8,
) -> c_int {
    // SAFETY: SQLCipher passes buffers of the sizes it names, and `out` of
    // the size `hmac_sz` gave; `in2` may be absent.
    let (Some(key), Some(in1)) = (unsafe { slice(key, key_sz) }, unsafe { slice(in1, in1_sz) })
    else {
        return SQLITE_ERROR;
    };
    let in2 = unsafe { slice(in2, in2_sz) }.unwrap_or(&[]);
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: [&[u8]; 2], out: *mut u8) -> c_int {
        let Ok(mut mac) = <M as Mac>::new_from_slice(key) else {
            return SQLITE_ERROR;
        };
        for part in parts {
            mac.update(part);
        }
        let tag = mac.finalize().into_bytes();
        // SAFETY: `out` holds `hmac_sz` bytes, which is this tag's length.
        unsafe { std::ptr::copy_nonoverlapping(tag.as_ptr(), out, tag.len()) };
        SQLITE_OK
    }
    if out.is_null() {
        return SQLITE_ERROR;
    }
    match algorithm {
        HMAC_SHA256 => run::<Hmac<Sha256>>(key, [in1, in2], out),
        HMAC_SHA512 => run::<Hmac<Sha512>>(key, [in1, in2], out),
        _ => SQLITE_ERROR,
    }
}

/// PBKDF2-HMAC; SQLCipher's algorithm numbers match its HMAC ones.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn kdf(
    _: Ctx,
    algorithm: c_int,
    pass: *const u8,
    pass_sz: c_int,
    salt: *const u8,
    salt_sz: c_int,
    workfactor: c_int,
    key_sz: c_int,
    key: *mut u8,
) -> c_int {
    // SAFETY: buffers of the sizes SQLCipher names.
    let (Some(pass), Some(salt), Some(out)) = (
        unsafe { slice(pass, pass_sz) },
        unsafe { slice(salt, salt_sz) },
        unsafe { slice_mut(key, key_sz) },
    ) else {
        return SQLITE_ERROR;
    };
    let Ok(rounds) = u32::try_from(workfactor) else {
        return SQLITE_ERROR;
    };
    match algorithm {
        HMAC_SHA256 => pbkdf2::pbkdf2_hmac::<Sha256>(pass, salt, rounds, out),
        HMAC_SHA512 => pbkdf2::pbkdf2_hmac::<Sha512>(pass, salt, rounds, out),
        _ => return SQLITE_ERROR,
    }
    SQLITE_OK
}

/// AES-256-CBC over whole blocks, no padding: `in` to `out`.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn cipher(
    _: Ctx,
    mode: c_int,
    key: *const u8,
    key_sz: c_int,
    iv: *const u8,
    input: *const u8,
    in_sz: c_int,
    out: *mut u8,
) -> c_int {
    // SAFETY: SQLCipher passes a key of `key_sz`, an IV of `IV_SZ`, and
    // input and output buffers of `in_sz` bytes.
    let (Some(key), Some(iv), Some(out)) = (
        unsafe { slice(key, key_sz) },
        unsafe { slice(iv, IV_SZ) },
        unsafe { slice_mut(out, in_sz) },
    ) else {
        return SQLITE_ERROR;
    };
    if input.is_null() || out.len() % BLOCK_SZ as usize != 0 {
        return SQLITE_ERROR;
    }
    // `copy`, not `copy_nonoverlapping`: input and output may be one buffer.
    unsafe { std::ptr::copy(input, out.as_mut_ptr(), out.len()) };
    let len = out.len();
    let done = if mode == ENCRYPT {
        cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
            .ok()
            .and_then(|c| c.encrypt_padded_mut::<NoPadding>(out, len).ok().map(|_| ()))
    } else {
        cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
            .ok()
            .and_then(|c| c.decrypt_padded_mut::<NoPadding>(out).ok().map(|_| ()))
    };
    match done {
        Some(()) => SQLITE_OK,
        None => SQLITE_ERROR,
    }
}

/// # Safety
/// `ptr` is null or points to `len` readable bytes.
unsafe fn slice<'a>(ptr: *const u8, len: c_int) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    if ptr.is_null() {
        return None;
    }
    // SAFETY: as the caller promises.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// `ptr` is null or points to `len` writable bytes, not otherwise borrowed.
unsafe fn slice_mut<'a>(ptr: *mut u8, len: c_int) -> Option<&'a mut [u8]> {
    let len = usize::try_from(len).ok()?;
    if ptr.is_null() {
        return None;
    }
    // SAFETY: as the caller promises.
    Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NIST SP 800-38A F.2.5: CBC-AES256 encryption, first two blocks.
    #[test]
    fn aes_256_cbc_matches_the_nist_vector() {
        let key = hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .unwrap();
        let iv = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let plain = hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
            .unwrap();
        let mut out = vec![0u8; 32];
        let rc = unsafe {
            cipher(
                std::ptr::null_mut(),
                ENCRYPT,
                key.as_ptr(),
                32,
                iv.as_ptr(),
                plain.as_ptr(),
                32,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(rc, SQLITE_OK);
        assert_eq!(
            hex::encode(&out),
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
        );
        let mut back = out.clone();
        let rc = unsafe {
            cipher(
                std::ptr::null_mut(),
                0,
                key.as_ptr(),
                32,
                iv.as_ptr(),
                back.as_ptr(),
                32,
                back.as_mut_ptr(),
            )
        };
        assert_eq!(rc, SQLITE_OK);
        assert_eq!(back, plain, "decrypting in place");
    }

    #[test]
    fn refusals_are_errors_not_crashes() {
        let mut out = [0u8; 64];
        let data = [0u8; 15];
        let key = [0u8; 32];
        unsafe {
            assert_eq!(hmac_sz(std::ptr::null_mut(), 0), 0, "no SHA-1");
            assert_eq!(
                cipher(
                    std::ptr::null_mut(),
                    ENCRYPT,
                    key.as_ptr(),
                    32,
                    key.as_ptr(),
                    data.as_ptr(),
                    15,
                    out.as_mut_ptr()
                ),
                SQLITE_ERROR,
                "not whole blocks"
            );
            assert_eq!(
                hmac(
                    std::ptr::null_mut(),
                    0,
                    key.as_ptr(),
                    32,
                    data.as_ptr(),
                    15,
                    std::ptr::null(),
                    0,
                    out.as_mut_ptr()
                ),
                SQLITE_ERROR
            );
            assert_eq!(
                kdf(
                    std::ptr::null_mut(),
                    HMAC_SHA512,
                    key.as_ptr(),
                    32,
                    data.as_ptr(),
                    15,
                    -1,
                    32,
                    out.as_mut_ptr()
                ),
                SQLITE_ERROR
            );
        }
    }
}
