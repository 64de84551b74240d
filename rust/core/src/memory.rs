//! Advice to the OS about result buffers the VM is about to write for the
//! first time.
//!
//! The first write to each 4 KiB page of a fresh buffer is a page fault; for a
//! 64 MB result those faults cost more than the computation. Asking for
//! transparent huge pages on the buffer's 2 MiB-aligned interior before the
//! VM writes it turns 512 faults into one per 2 MiB (Linux with THP in
//! `madvise` or `always` mode; elsewhere this does nothing).

use std::ffi::c_void;

/// Buffers smaller than this are not worth a system call.
pub const ADVISE_MIN_BYTES: usize = 4 << 20;

#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
const MADV_HUGEPAGE: i32 = 14;

#[cfg(target_os = "linux")]
extern "C" {
    fn madvise(addr: *mut c_void, len: usize, advice: i32) -> i32;
}

/// Asks for huge pages on the 2 MiB-aligned interior of `len` bytes at
/// `ptr`, a buffer nothing has written yet. Advisory only: it changes no
/// memory contents, and a range that is not eligible is left as it was.
pub fn advise_fresh(ptr: *mut c_void, len: usize) {
    #[cfg(target_os = "linux")]
    {
        if len < ADVISE_MIN_BYTES {
            return;
        }
        let Some(start) = (ptr as usize)
            .checked_add(HUGE_PAGE - 1)
            .map(|a| a & !(HUGE_PAGE - 1))
        else {
            return;
        };
        let end = (ptr as usize).saturating_add(len) & !(HUGE_PAGE - 1);
        if end > start {
            // SAFETY: MADV_HUGEPAGE only sets the kernel's page-size policy
            // for [start, end); it reads and writes no memory and never
            // changes contents, so it cannot break any Rust or JS invariant.
            // A range that is not a private anonymous mapping makes it fail
            // with an error code, which is ignored: the advice is optional.
            unsafe { madvise(start as *mut c_void, end - start, MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_never_changes_contents() {
        // Unaligned start and length, larger than the threshold, so the
        // advised interior is strictly inside the buffer.
        let len = ADVISE_MIN_BYTES * 3 + 12_345;
        let mut buf: Vec<u8> = (0..len + 7).map(|i| (i % 251) as u8).collect();
        let before = buf.clone();
        advise_fresh(buf[7..].as_mut_ptr().cast(), len);
        assert!(buf == before, "advised memory kept its contents");
        buf.iter_mut().for_each(|b| *b = b.wrapping_add(1));
        assert!(buf
            .iter()
            .zip(&before)
            .all(|(b, a)| *b == a.wrapping_add(1)));
        // Below the threshold, and null, it does nothing at all.
        advise_fresh(std::ptr::null_mut(), 0);
        advise_fresh(buf.as_mut_ptr().cast(), 16);
        assert!(buf
            .iter()
            .zip(&before)
            .all(|(b, a)| *b == a.wrapping_add(1)));
    }
}
