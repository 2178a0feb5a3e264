//! Method and interface hashes of the remote interfaces the client calls.
//!
//! Owns the numeric constants only (section 4.4 of the protocol notes); the unit test recomputes
//! every one from its method descriptor with SHA-1. It must not know how calls are framed.

/// `java.rmi.registry.Registry` interface hash (v1 "skeleton" protocol).
pub const REGISTRY_INTERFACE: i64 = 4905912898345647071;
/// Registry operation index of `lookup` (v1).
pub const REGISTRY_OP_LOOKUP: i32 = 2;
/// `Registry.lookup(String)` method hash (v2, for registries without a skeleton).
pub const REGISTRY_LOOKUP: i64 = -7538657168040752697;

/// `java.rmi.dgc.DGC` interface hash (v1).
pub const DGC_INTERFACE: i64 = -669196253586618813;
/// DGC operation indices (v1).
pub const DGC_OP_CLEAN: i32 = 0;
pub const DGC_OP_DIRTY: i32 = 1;

/// `RMIServer.newClient(Object)`.
pub const NEW_CLIENT: i64 = -1089742558549201240;
/// `RMIServer.getVersion()`.
pub const GET_VERSION: i64 = -8081107751519807347;

/// `RMIConnection` methods.
pub const CLOSE: i64 = -4742752445160157748;
pub const GET_ATTRIBUTE: i64 = -1089783104982388203;
pub const GET_ATTRIBUTES: i64 = 6285293806596348999;
pub const SET_ATTRIBUTE: i64 = 6738606893952597516;
pub const INVOKE: i64 = 1434350937885235744;
pub const QUERY_NAMES: i64 = 9152567528369059802;
pub const IS_REGISTERED: i64 = 8325683335228268564;
pub const GET_MBEAN_INFO: i64 = -7404813916326233354;
pub const GET_DEFAULT_DOMAIN: i64 = 6047668923998658472;
pub const GET_CONNECTION_ID: i64 = -67907180346059933;

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::{Digest, Sha1};

    fn utf(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn method_hash(name_and_descriptor: &str) -> i64 {
        let mut input = Vec::new();
        utf(&mut input, name_and_descriptor);
        let digest = Sha1::digest(&input);
        i64::from_le_bytes(digest[..8].try_into().unwrap())
    }

    /// Interface hash: int 1, then per method (sorted) name, descriptor, sorted exception names.
    fn interface_hash(methods: &[(&str, &str, &[&str])]) -> i64 {
        let mut input = 1i32.to_be_bytes().to_vec();
        for (name, desc, exceptions) in methods {
            utf(&mut input, name);
            utf(&mut input, desc);
            for e in *exceptions {
                utf(&mut input, e);
            }
        }
        let digest = Sha1::digest(&input);
        i64::from_le_bytes(digest[..8].try_into().unwrap())
    }

    #[test]
    fn method_hashes_match_their_descriptors() {
        let cases: &[(i64, &str)] = &[
            (REGISTRY_LOOKUP, "lookup(Ljava/lang/String;)Ljava/rmi/Remote;"),
            (NEW_CLIENT, "newClient(Ljava/lang/Object;)Ljavax/management/remote/rmi/RMIConnection;"),
            (GET_VERSION, "getVersion()Ljava/lang/String;"),
            (CLOSE, "close()V"),
            (GET_ATTRIBUTE, "getAttribute(Ljavax/management/ObjectName;Ljava/lang/String;Ljavax/security/auth/Subject;)Ljava/lang/Object;"),
            (GET_ATTRIBUTES, "getAttributes(Ljavax/management/ObjectName;[Ljava/lang/String;Ljavax/security/auth/Subject;)Ljavax/management/AttributeList;"),
            (SET_ATTRIBUTE, "setAttribute(Ljavax/management/ObjectName;Ljava/rmi/MarshalledObject;Ljavax/security/auth/Subject;)V"),
            (INVOKE, "invoke(Ljavax/management/ObjectName;Ljava/lang/String;Ljava/rmi/MarshalledObject;[Ljava/lang/String;Ljavax/security/auth/Subject;)Ljava/lang/Object;"),
            (QUERY_NAMES, "queryNames(Ljavax/management/ObjectName;Ljava/rmi/MarshalledObject;Ljavax/security/auth/Subject;)Ljava/util/Set;"),
            (IS_REGISTERED, "isRegistered(Ljavax/management/ObjectName;Ljavax/security/auth/Subject;)Z"),
            (GET_MBEAN_INFO, "getMBeanInfo(Ljavax/management/ObjectName;Ljavax/security/auth/Subject;)Ljavax/management/MBeanInfo;"),
            (GET_DEFAULT_DOMAIN, "getDefaultDomain(Ljavax/security/auth/Subject;)Ljava/lang/String;"),
            (GET_CONNECTION_ID, "getConnectionId()Ljava/lang/String;"),
        ];
        for (expected, descriptor) in cases {
            assert_eq!(method_hash(descriptor), *expected, "{descriptor}");
        }
    }

    #[test]
    fn interface_hashes_match_their_methods() {
        let remote = "java.rmi.RemoteException";
        let registry: &[(&str, &str, &[&str])] = &[
            (
                "bind",
                "(Ljava/lang/String;Ljava/rmi/Remote;)V",
                &[
                    "java.rmi.AccessException",
                    "java.rmi.AlreadyBoundException",
                    remote,
                ],
            ),
            (
                "list",
                "()[Ljava/lang/String;",
                &["java.rmi.AccessException", remote],
            ),
            (
                "lookup",
                "(Ljava/lang/String;)Ljava/rmi/Remote;",
                &[
                    "java.rmi.AccessException",
                    "java.rmi.NotBoundException",
                    remote,
                ],
            ),
            (
                "rebind",
                "(Ljava/lang/String;Ljava/rmi/Remote;)V",
                &["java.rmi.AccessException", remote],
            ),
            (
                "unbind",
                "(Ljava/lang/String;)V",
                &[
                    "java.rmi.AccessException",
                    "java.rmi.NotBoundException",
                    remote,
                ],
            ),
        ];
        assert_eq!(interface_hash(registry), REGISTRY_INTERFACE);
        let dgc: &[(&str, &str, &[&str])] = &[
            (
                "clean",
                "([Ljava/rmi/server/ObjID;JLjava/rmi/dgc/VMID;Z)V",
                &[remote],
            ),
            (
                "dirty",
                "([Ljava/rmi/server/ObjID;JLjava/rmi/dgc/Lease;)Ljava/rmi/dgc/Lease;",
                &[remote],
            ),
        ];
        assert_eq!(interface_hash(dgc), DGC_INTERFACE);
    }
}
