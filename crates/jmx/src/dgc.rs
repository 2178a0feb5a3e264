//! Distributed GC calls: `DGC.dirty` (lease request/renewal) and `DGC.clean`, and this client's VMID.
//!
//! Owns the byte encoding of the two DGC calls (v1 protocol on the well-known ObjID 2; their
//! arguments are fixed shapes, so the stream is built here directly) and decoding the granted
//! lease. It must not schedule renewals (that is the client's maintenance task) nor do I/O.

use javaser::Value;

use crate::hashes::{DGC_INTERFACE, DGC_OP_CLEAN, DGC_OP_DIRTY};
use crate::stub::ObjId;
use crate::transport::OP_CALL;
use crate::JmxError;

const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const BASE_HANDLE: u32 = 0x7E0000;

const SUID_OBJID_ARRAY: i64 = -8713620060265225090;
const SUID_OBJID: i64 = -6386392263968365220;
const SUID_UID: i64 = 1086053664494604050;
const SUID_LEASE: i64 = -5713411624328831948;
const SUID_VMID: i64 = -538642295484486218;
const SUID_BYTE_ARRAY: i64 = -5984413125824719648;

/// This client's identity towards the server's DGC (`java.rmi.dgc.VMID`): random address bytes
/// plus a UID, chosen once per client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vmid {
    addr: [u8; 8],
    unique: i32,
    time: i64,
    count: i16,
}

impl Vmid {
    pub fn random() -> Vmid {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Vmid {
            addr: rand::random(),
            unique: rand::random(),
            time,
            count: i16::MIN + 1,
        }
    }
}

#[cfg(test)]
impl Vmid {
    pub fn from_parts(addr: [u8; 8], unique: i32, time: i64, count: i16) -> Vmid {
        Vmid {
            addr,
            unique,
            time,
            count,
        }
    }
}

/// First lease sequence number, as the JDK uses.
pub(crate) const FIRST_SEQUENCE: i64 = i64::MIN + 1;

/// A minimal stream builder for the DGC argument shapes, with handle bookkeeping.
struct Enc {
    out: Vec<u8>,
    next_handle: u32,
    uid_type: Option<u32>,
    uid_desc: Option<u32>,
    objid_desc: Option<u32>,
}

impl Enc {
    fn new(op: i32) -> Enc {
        let mut e = Enc {
            out: vec![OP_CALL, 0xAC, 0xED, 0x00, 0x05],
            next_handle: BASE_HANDLE,
            uid_type: None,
            uid_desc: None,
            objid_desc: None,
        };
        e.out.extend_from_slice(&[TC_BLOCKDATA, 34]);
        e.out.extend_from_slice(&ObjId::DGC.to_raw());
        e.out.extend_from_slice(&op.to_be_bytes());
        e.out.extend_from_slice(&DGC_INTERFACE.to_be_bytes());
        e
    }
    fn handle(&mut self) -> u32 {
        let h = self.next_handle;
        self.next_handle += 1;
        h
    }
    fn utf(&mut self, s: &str) {
        self.out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        self.out.extend_from_slice(s.as_bytes());
    }
    /// Class descriptor header: name, suid, flags SC_SERIALIZABLE; returns its handle.
    fn desc_start(&mut self, name: &str, suid: i64, nfields: u16) -> u32 {
        self.out.push(TC_CLASSDESC);
        self.utf(name);
        self.out.extend_from_slice(&suid.to_be_bytes());
        self.out.push(0x02);
        self.out.extend_from_slice(&nfields.to_be_bytes());
        self.handle()
    }
    /// RMI codebase annotation (null), end of annotation, no superclass.
    fn desc_end(&mut self) {
        self.out
            .extend_from_slice(&[TC_NULL, TC_ENDBLOCKDATA, TC_NULL]);
    }
    fn field_prim(&mut self, code: u8, name: &str) {
        self.out.push(code);
        self.utf(name);
    }
    fn type_string(&mut self, s: &str, slot: Option<u32>) -> u32 {
        match slot {
            Some(h) => {
                self.out.push(TC_REFERENCE);
                self.out.extend_from_slice(&h.to_be_bytes());
                h
            }
            None => {
                self.out.push(TC_STRING);
                self.utf(s);
                self.handle()
            }
        }
    }
    fn uid(&mut self, count: i16, time: i64, unique: i32) {
        self.out.push(TC_OBJECT);
        if let Some(h) = self.uid_desc {
            self.out.push(TC_REFERENCE);
            self.out.extend_from_slice(&h.to_be_bytes());
        } else {
            let h = self.desc_start("java.rmi.server.UID", SUID_UID, 3);
            self.field_prim(b'S', "count");
            self.field_prim(b'J', "time");
            self.field_prim(b'I', "unique");
            self.desc_end();
            self.uid_desc = Some(h);
        }
        self.handle();
        self.out.extend_from_slice(&count.to_be_bytes());
        self.out.extend_from_slice(&time.to_be_bytes());
        self.out.extend_from_slice(&unique.to_be_bytes());
    }
    fn objid_array(&mut self, ids: &[ObjId]) {
        self.out.push(TC_ARRAY);
        self.desc_start("[Ljava.rmi.server.ObjID;", SUID_OBJID_ARRAY, 0);
        self.desc_end();
        self.handle();
        self.out
            .extend_from_slice(&(ids.len() as i32).to_be_bytes());
        for id in ids {
            self.out.push(TC_OBJECT);
            if let Some(h) = self.objid_desc {
                self.out.push(TC_REFERENCE);
                self.out.extend_from_slice(&h.to_be_bytes());
            } else {
                let h = self.desc_start("java.rmi.server.ObjID", SUID_OBJID, 2);
                self.field_prim(b'J', "objNum");
                self.field_prim(b'L', "space");
                let t = self.type_string("Ljava/rmi/server/UID;", None);
                self.uid_type = Some(t);
                self.desc_end();
                self.objid_desc = Some(h);
            }
            self.handle();
            self.out.extend_from_slice(&id.num.to_be_bytes());
            self.uid(id.count, id.time, id.unique);
        }
    }
    fn block(&mut self, bytes: &[u8]) {
        self.out.push(TC_BLOCKDATA);
        self.out.push(bytes.len() as u8);
        self.out.extend_from_slice(bytes);
    }
    fn vmid(&mut self, vmid: &Vmid) {
        self.out.push(TC_OBJECT);
        self.desc_start("java.rmi.dgc.VMID", SUID_VMID, 2);
        self.field_prim(b'[', "addr");
        self.type_string("[B", None);
        self.field_prim(b'L', "uid");
        let slot = self.uid_type;
        self.type_string("Ljava/rmi/server/UID;", slot);
        self.desc_end();
        self.handle();
        self.out.push(TC_ARRAY);
        self.desc_start("[B", SUID_BYTE_ARRAY, 0);
        self.desc_end();
        self.handle();
        self.out
            .extend_from_slice(&(vmid.addr.len() as i32).to_be_bytes());
        self.out.extend_from_slice(&vmid.addr);
        self.uid(vmid.count, vmid.time, vmid.unique);
    }
}

/// `DGC.dirty(ids, seq, new Lease(vmid, lease_ms))` as a complete Call message.
pub(crate) fn encode_dirty(ids: &[ObjId], seq: i64, vmid: &Vmid, lease_ms: i64) -> Vec<u8> {
    let mut e = Enc::new(DGC_OP_DIRTY);
    e.objid_array(ids);
    e.block(&seq.to_be_bytes());
    e.out.push(TC_OBJECT);
    e.desc_start("java.rmi.dgc.Lease", SUID_LEASE, 2);
    e.field_prim(b'J', "value");
    e.field_prim(b'L', "vmid");
    e.type_string("Ljava/rmi/dgc/VMID;", None);
    e.desc_end();
    e.handle();
    e.out.extend_from_slice(&lease_ms.to_be_bytes());
    e.vmid(vmid);
    e.out
}

/// `DGC.clean(ids, seq, vmid, strong)` as a complete Call message.
pub(crate) fn encode_clean(ids: &[ObjId], seq: i64, vmid: &Vmid, strong: bool) -> Vec<u8> {
    let mut e = Enc::new(DGC_OP_CLEAN);
    e.objid_array(ids);
    e.block(&seq.to_be_bytes());
    e.vmid(vmid);
    e.block(&[u8::from(strong)]);
    e.out
}

/// The granted lease duration (ms) from dirty's returned `Lease`.
pub(crate) fn granted_lease(value: &Value) -> Result<i64, JmxError> {
    value
        .as_object()
        .filter(|o| o.class_name() == "java.rmi.dgc.Lease")
        .and_then(|o| o.field("value"))
        .and_then(Value::as_i64)
        .filter(|ms| *ms > 0)
        .ok_or_else(|| JmxError::Protocol("DGC.dirty did not return a Lease".into()))
}
