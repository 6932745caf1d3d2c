//! Who is calling: tenant, subject, client and what the token lets them do.

use std::collections::HashSet;

use syncd_model::visibility::Fnv32;
use syncd_model::{Access, ClientId, EntityType, Registry, SubjectId, TenantId, VisibilityClaims};

/// What a token may read and write (SPEC §3). No scope claim means everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    read_all: bool,
    write_all: bool,
    read: HashSet<String>,
    write: HashSet<String>,
}

impl Scopes {
    /// Read and write on every type: a token without a `scope` claim.
    pub fn unrestricted() -> Self {
        Self {
            read_all: true,
            write_all: true,
            read: HashSet::new(),
            write: HashSet::new(),
        }
    }

    /// Parses a space-separated `scope` claim: `sync:read`, `sync:write`, `sync:read:<type>`,
    /// `sync:write:<type>`. Other scopes are ignored (they may belong to other services).
    pub fn parse(claim: &str) -> Self {
        let mut scopes = Self {
            read_all: false,
            write_all: false,
            read: HashSet::new(),
            write: HashSet::new(),
        };
        for scope in claim.split_whitespace() {
            match scope.strip_prefix("sync:") {
                Some("read") => scopes.read_all = true,
                Some("write") => scopes.write_all = true,
                Some(rest) => {
                    if let Some(ty) = rest.strip_prefix("read:") {
                        scopes.read.insert(ty.to_owned());
                    } else if let Some(ty) = rest.strip_prefix("write:") {
                        scopes.write.insert(ty.to_owned());
                    }
                }
                None => {}
            }
        }
        scopes
    }

    pub fn can_read(&self, entity_type: &str) -> bool {
        self.read_all || self.read.contains(entity_type)
    }

    pub fn can_write(&self, entity_type: &str) -> bool {
        self.write_all || self.write.contains(entity_type)
    }

    /// The read scopes into a fingerprint, in a fixed order.
    fn hash_reads(&self, h: &mut Fnv32) {
        h.write(&[u8::from(self.read_all)]);
        let mut read: Vec<&String> = self.read.iter().collect();
        read.sort_unstable();
        for ty in read {
            h.write_str(ty);
        }
    }
}

/// An authenticated caller. The tenant comes from the token only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub subject: SubjectId,
    pub client: ClientId,
    /// False when `client` fell back to the subject because nothing named a client; a push body's
    /// `clientId` may then name it.
    pub client_explicit: bool,
    pub scopes: Scopes,
    pub roles: Vec<String>,
    /// The token's claims that visibility rules name (SPEC §11), strings or lists of strings.
    pub claims: VisibilityClaims,
}

impl Principal {
    /// A caller with every right on its tenant; handy for embedding and tests.
    /// Its claims hold `sub` (the subject), for rules on it.
    pub fn new(tenant: TenantId, subject: SubjectId, client: ClientId) -> Self {
        let mut claims = VisibilityClaims::new();
        claims.insert("sub", [subject.as_str()]);
        Self {
            tenant,
            subject,
            client,
            client_explicit: true,
            scopes: Scopes::unrestricted(),
            roles: Vec::new(),
            claims,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }

    /// What this caller may see of a type.
    pub fn access(&self, ty: &EntityType) -> Access {
        ty.visibility.access(&self.roles, &self.claims)
    }

    /// The fingerprint of the caller's visibility inputs that its cursors carry (SPEC §11): the
    /// claims rules name, the roles and the read scopes, lists as sets. 0 when no type has rules,
    /// so cursors stay as they were for deployments without them.
    pub fn visibility_fingerprint(&self, registry: &Registry) -> u32 {
        if !registry.has_visibility_rules() {
            return 0;
        }
        let mut h = Fnv32::default();
        for (name, values) in self.claims.iter().filter(|(n, _)| registry.names_claim(n)) {
            h.write_str(name);
            h.write(&(values.len() as u64).to_le_bytes());
            for v in values {
                h.write_str(v);
            }
        }
        h.write(&[0xff]);
        let mut roles: Vec<&String> = self.roles.iter().collect();
        roles.sort_unstable();
        roles.dedup();
        for role in roles {
            h.write_str(role);
        }
        h.write(&[0xff]);
        self.scopes.hash_reads(&mut h);
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_claim_grants_exactly_what_it_names() {
        let s = Scopes::parse("openid sync:read sync:write:end_user");
        assert!(s.can_read("interactions"));
        assert!(s.can_write("end_user"));
        assert!(!s.can_write("interactions"));
        let s = Scopes::parse("sync:read:end_user");
        assert!(s.can_read("end_user"));
        assert!(!s.can_read("interactions"));
        assert!(!s.can_write("end_user"));
        assert!(Scopes::unrestricted().can_write("anything"));
    }
}
