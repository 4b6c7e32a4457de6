package store

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// RegisterTypes teaches a connection's type map to scan uuid columns
// straight into google/uuid's UUID, and to send UUID parameters as their
// 16 bytes. Without it pgx scans them through uuid.UUID's sql.Scanner: each
// value formatted as a string by pgx and parsed back by uuid.Parse, 5–9 %
// of the server's CPU on the app's pages (BENCHMARKS.md), where the column
// arrives as the 16 bytes a UUID is; and it sends them through uuid.UUID's
// driver.Valuer, a string formatted and parsed back per parameter (array
// elements included). Call it from every pool's AfterConnect.
func RegisterTypes(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}})
}

// uuidCodec is pgx's UUIDCodec that also scans binary values into
// *uuid.UUID and encodes uuid.UUID and *uuid.UUID as binary values;
// everything else is pgx's.
type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if format == pgtype.BinaryFormatCode {
		switch value.(type) {
		case uuid.UUID, *uuid.UUID:
			return encodeUUID{}
		}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

type encodeUUID struct{}

func (encodeUUID) Encode(value any, buf []byte) ([]byte, error) {
	switch v := value.(type) {
	case uuid.UUID:
		return append(buf, v[:]...), nil
	case *uuid.UUID:
		if v == nil {
			return nil, nil // NULL
		}
		return append(buf, v[:]...), nil
	}
	return nil, fmt.Errorf("cannot encode %T as uuid", value)
}

func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return scanUUID{}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type scanUUID struct{}

func (scanUUID) Scan(src []byte, dst any) error {
	if src == nil {
		return fmt.Errorf("cannot scan NULL into *uuid.UUID")
	}
	if len(src) != len(uuid.UUID{}) {
		return fmt.Errorf("invalid length for uuid: %d", len(src))
	}
	copy(dst.(*uuid.UUID)[:], src)
	return nil
}
