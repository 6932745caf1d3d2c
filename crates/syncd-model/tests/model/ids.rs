use syncd_model::{
    ClientId, Cursor, CursorError, EntityTypeName, IdError, RecordId, Seq, TenantId, Version,
};

#[test]
fn garbage_cursors_are_refused_with_a_clear_error() {
    for garbage in [
        "",
        " ",
        "c1",
        "c1 ",
        "C1000000000000000000",
        "c1xyz",
        "c1-00000000000000000",
        "c1+00000000000000000",
        "c100000000000000000000",
        "null",
        "0",
        "💥💥💥💥💥💥💥💥💥",
        "c1💥💥💥💥💥💥💥💥💥",
        "c1\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
        "2024-01-01T00:00:00Z",
    ] {
        let error = Cursor::decode(garbage).unwrap_err();
        assert_eq!(error, CursorError, "{garbage:?}");
        assert_eq!(
            error.to_string(),
            "the cursor is not one this server handed out"
        );
    }
}

#[test]
fn a_cursor_with_any_one_character_changed_is_refused() {
    let encoded = Cursor::new(Seq(123_456)).encode();
    assert_eq!(encoded.len(), 20);
    for position in 0..encoded.len() {
        for replacement in "0123456789abcdefc1x".chars() {
            let mut tampered: Vec<char> = encoded.chars().collect();
            if tampered[position] == replacement {
                continue;
            }
            tampered[position] = replacement;
            let tampered: String = tampered.into_iter().collect();
            assert_eq!(Cursor::decode(&tampered), Err(CursorError), "{tampered}");
        }
    }
}

#[test]
fn a_cursor_round_trips_and_is_opaque() {
    for seq in [0, 1, 2, 255, 256, 1_000_000, i64::MAX - 1, i64::MAX] {
        let cursor = Cursor::new(Seq(seq));
        let encoded = cursor.encode();
        assert!(encoded.starts_with("c1"));
        assert_eq!(encoded.len(), 20);
        assert_eq!(Cursor::decode(&encoded), Ok(cursor));
        assert_eq!(Cursor::decode(&encoded).unwrap().seq(), Seq(seq));
        assert_eq!(cursor.to_string(), encoded);
        assert_eq!(serde_json::to_value(cursor).unwrap(), encoded);
    }
    assert_ne!(Cursor::new(Seq(1)).encode(), Cursor::new(Seq(2)).encode());
}

#[test]
fn an_entity_type_name_is_a_short_lowercase_identifier() {
    assert_eq!(
        EntityTypeName::parse("end_user").unwrap().as_str(),
        "end_user"
    );
    assert!(EntityTypeName::parse("a".repeat(63)).is_ok());
    for bad in [
        "",
        "a".repeat(64).as_str(),
        "End_user",
        "_x",
        "9x",
        "a-b",
        "a.b",
        "é",
    ] {
        assert_eq!(
            EntityTypeName::parse(bad),
            Err(IdError::BadEntityTypeName(bad.to_owned())),
            "{bad}"
        );
    }
    assert!(serde_json::from_value::<EntityTypeName>(serde_json::json!("Bad")).is_err());
    assert_eq!(
        serde_json::from_value::<EntityTypeName>(serde_json::json!("visits")).unwrap(),
        EntityTypeName::parse("visits").unwrap()
    );
}

#[test]
fn tenant_and_client_ids_are_short_printable_strings() {
    assert_eq!(TenantId::parse("acme").unwrap().as_str(), "acme");
    assert!(TenantId::parse("t".repeat(256)).is_ok());
    assert_eq!(
        TenantId::parse("t".repeat(257)),
        Err(IdError::TooLong {
            what: "tenant id",
            max: 256
        })
    );
    assert_eq!(
        ClientId::parse("tab\u{7}"),
        Err(IdError::ControlCharacter("client id"))
    );
    assert_eq!(ClientId::parse(""), Err(IdError::Empty("client id")));
    assert!(serde_json::from_value::<TenantId>(serde_json::json!("")).is_err());
    assert_eq!(
        IdError::Empty("tenant id").to_string(),
        "tenant id must not be empty"
    );
}

#[test]
fn a_record_id_is_a_uuid_shown_lowercase_and_hyphenated() {
    let id = RecordId::parse("0190A1B2C3D47E5F8A6B7C8D9E0F1A2B").unwrap();
    assert_eq!(id.to_string(), "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
    assert_eq!(
        serde_json::to_value(id).unwrap(),
        "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"
    );
    let long = "x".repeat(1000);
    match RecordId::parse(&long) {
        Err(IdError::NotUuid(shown)) => assert_eq!(shown.len(), 64, "truncated"),
        other => panic!("{other:?}"),
    }
    assert_ne!(RecordId::new_v7(), RecordId::new_v7());
}

#[test]
fn versions_and_seqs_count_up_without_overflowing() {
    assert_eq!(Version::INITIAL, Version(1));
    assert_eq!(Version::INITIAL.next(), Version(2));
    assert_eq!(Version(i64::MAX).next(), Version(i64::MAX));
    assert_eq!(Seq::ZERO.next(), Seq(1));
    assert_eq!(Seq(i64::MAX).next(), Seq(i64::MAX));
}
