//! Program handles: the validated programs JS refers to by a `u32`.
//!
//! Handles count up from 1 and are never reused, so a stale or doubly freed
//! handle is always an error rather than someone else's program. A run clones
//! the `Arc` under the lock and runs without it, so a program freed during an
//! async run lives until that run is done.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use numfuse_core::{Error, ErrorCode, Program};

/// Handles are distinct small integers: they are their own hash.
#[derive(Default)]
struct HandleHasher(u64);

impl Hasher for HandleHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
}

struct Registry {
    next: u32,
    programs: HashMap<u32, Arc<Program>, BuildHasherDefault<HandleHasher>>,
}

static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();

fn registry() -> MutexGuard<'static, Registry> {
    let lock = REGISTRY.get_or_init(|| {
        Mutex::new(Registry {
            next: 1,
            programs: HashMap::default(),
        })
    });
    // A panic while the lock was held cannot leave the map half-updated
    // (every update is one insert or remove), so a poisoned lock is usable.
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps a program; returns its handle.
pub fn insert(program: Program) -> Result<u32, Error> {
    let mut reg = registry();
    let handle = reg.next;
    if handle == u32::MAX {
        return Err(Error::new(
            ErrorCode::BadHandle,
            "out of program handles: 2^32 - 2 programs were created in this process",
        ));
    }
    reg.next += 1;
    reg.programs.insert(handle, Arc::new(program));
    Ok(handle)
}

fn unknown(handle: u32) -> Error {
    Error::new(
        ErrorCode::BadHandle,
        format!("unknown program handle {handle}: it was never created or is already freed"),
    )
}

/// The program of a handle.
pub fn get(handle: u32) -> Result<Arc<Program>, Error> {
    registry()
        .programs
        .get(&handle)
        .cloned()
        .ok_or_else(|| unknown(handle))
}

/// Forgets a handle; its program is dropped when no run holds it any more.
pub fn remove(handle: u32) -> Result<(), Error> {
    let removed = registry().programs.remove(&handle);
    removed.map(drop).ok_or_else(|| unknown(handle))
}
