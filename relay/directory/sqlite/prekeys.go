package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Kinds of one-time prekey in the prekeys table.
const (
	kindOneTime    = 1
	kindKEMOneTime = 2
)

// PublishKeys stores a device's public keys.
func (d *Directory) PublishKeys(ctx context.Context, user wire.UserID, device wire.DeviceID, k directory.Keys) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("publish keys: %w", err)
	}
	// Absent values are bound as NULL so that COALESCE keeps what is stored.
	var identity any
	if len(k.Identity) > 0 {
		identity = k.Identity
	}
	var sID, sPub, sSig, kID, kPub, kSig any
	if p := k.Signed; p != nil {
		sID, sPub, sSig = int64(p.ID), p.Public, p.Signature
	}
	if p := k.KEMLastResort; p != nil {
		kID, kPub, kSig = int64(p.ID), p.Public, p.Signature
	}
	// A vouch given replaces the stored one; a new identity key without
	// one clears it (the SET expressions all read the row as it was).
	var vGiven bool
	var vDevice, vSig any
	if v := k.Vouch; v != nil {
		vGiven, vDevice, vSig = true, int64(v.Device), v.Signature
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET
			identity = COALESCE(?1, identity),
			signed_id = COALESCE(?2, signed_id), signed_pub = COALESCE(?3, signed_pub), signed_sig = COALESCE(?4, signed_sig),
			kem_id = COALESCE(?5, kem_id), kem_pub = COALESCE(?6, kem_pub), kem_sig = COALESCE(?7, kem_sig),
			vouch_device = CASE WHEN ?10 THEN ?11 WHEN ?1 IS NOT NULL AND ?1 IS NOT identity THEN NULL ELSE vouch_device END,
			vouch_sig = CASE WHEN ?10 THEN ?12 WHEN ?1 IS NOT NULL AND ?1 IS NOT identity THEN NULL ELSE vouch_sig END
			WHERE user_id = ?8 AND id = ?9`,
			identity, sID, sPub, sSig, kID, kPub, kSig, user[:], int64(device), vGiven, vDevice, vSig)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return directory.ErrNotFound
		}
		if len(k.OneTime)+len(k.KEMOneTime) == 0 {
			return nil
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO prekeys (user_id, device_id, kind, key_id, public, signature)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, device_id, kind, key_id) DO UPDATE SET public = excluded.public, signature = excluded.signature`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		pools := []struct {
			kind int
			keys []directory.Prekey
		}{{kindOneTime, k.OneTime}, {kindKEMOneTime, k.KEMOneTime}}
		for _, pool := range pools {
			for _, p := range pool.keys {
				var sig any
				if len(p.Signature) > 0 {
					sig = p.Signature
				}
				if _, err := stmt.ExecContext(ctx, user[:], int64(device), pool.kind, int64(p.ID), p.Public, sig); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish keys: %w", err)
	}
	return nil
}

const (
	deviceKeysQuery = `SELECT identity, signed_id, signed_pub, signed_sig, kem_id, kem_pub, kem_sig, vouch_device, vouch_sig
		FROM devices WHERE user_id = ? AND id = ?`
	claimOneQuery = `DELETE FROM prekeys WHERE seq = (
			SELECT seq FROM prekeys WHERE user_id = ? AND device_id = ? AND kind = ? ORDER BY seq LIMIT 1)
		RETURNING key_id, public, signature`
)

// ClaimBundle hands out a bundle for one device, removing the one-time
// prekeys it contains, inside one write transaction.
func (d *Directory) ClaimBundle(ctx context.Context, user wire.UserID, device wire.DeviceID) (directory.Bundle, error) {
	b := directory.Bundle{Device: device}
	err := d.write(ctx, func(tx *sql.Tx) error {
		var (
			sID, kID, vID    sql.NullInt64
			sPub, sSig, vSig []byte
			kPub, kSig       []byte
		)
		err := tx.StmtContext(ctx, d.deviceKeys).QueryRowContext(ctx, user[:], int64(device)).Scan(&b.Identity, &sID, &sPub, &sSig, &kID, &kPub, &kSig, &vID, &vSig)
		if err != nil {
			return notFound(err)
		}
		b.Vouch = vouch(vID, vSig)
		if len(b.Identity) == 0 || !sID.Valid {
			return directory.ErrNoPrekeys
		}
		b.Signed = directory.Prekey{ID: uint32(sID.Int64), Public: sPub, Signature: sSig}

		b.OneTime, err = claimOne(ctx, tx.StmtContext(ctx, d.claimOne), user, device, kindOneTime)
		if err != nil {
			return err
		}
		kem, err := claimOne(ctx, tx.StmtContext(ctx, d.claimOne), user, device, kindKEMOneTime)
		switch {
		case err != nil:
			return err
		case kem != nil:
			b.KEM = *kem
		case kID.Valid:
			b.KEM = directory.Prekey{ID: uint32(kID.Int64), Public: kPub, Signature: kSig}
			b.KEMIsLastResort = true
		default:
			return directory.ErrNoPrekeys // rolls back the one-time claim
		}
		return nil
	})
	if err != nil {
		return directory.Bundle{}, fmt.Errorf("claim bundle: %w", err)
	}
	return b, nil
}

// LastResortBundle returns a device's bundle without one-time prekeys.
func (d *Directory) LastResortBundle(ctx context.Context, user wire.UserID, device wire.DeviceID) (directory.Bundle, error) {
	b := directory.Bundle{Device: device, KEMIsLastResort: true}
	var (
		sID, kID, vID    sql.NullInt64
		sPub, sSig, vSig []byte
		kPub, kSig       []byte
	)
	err := d.r.QueryRowContext(ctx, deviceKeysQuery, user[:], int64(device)).Scan(&b.Identity, &sID, &sPub, &sSig, &kID, &kPub, &kSig, &vID, &vSig)
	switch {
	case err != nil:
		return directory.Bundle{}, fmt.Errorf("last-resort bundle: %w", notFound(err))
	case len(b.Identity) == 0 || !sID.Valid || !kID.Valid:
		return directory.Bundle{}, fmt.Errorf("last-resort bundle: %w", directory.ErrNoPrekeys)
	}
	b.Signed = directory.Prekey{ID: uint32(sID.Int64), Public: sPub, Signature: sSig}
	b.KEM = directory.Prekey{ID: uint32(kID.Int64), Public: kPub, Signature: kSig}
	b.Vouch = vouch(vID, vSig)
	return b, nil
}

// vouch is the stored vouch, or nil.
func vouch(device sql.NullInt64, sig []byte) *directory.Vouch {
	if !device.Valid {
		return nil
	}
	return &directory.Vouch{Device: wire.DeviceID(device.Int64), Signature: sig}
}

// claimOne deletes and returns the oldest one-time prekey of a kind, or nil
// when the pool is empty.
func claimOne(ctx context.Context, stmt *sql.Stmt, user wire.UserID, device wire.DeviceID, kind int) (*directory.Prekey, error) {
	var (
		p  directory.Prekey
		id int64
	)
	err := stmt.QueryRowContext(ctx, user[:], int64(device), kind).Scan(&id, &p.Public, &p.Signature)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.ID = uint32(id)
	return &p, nil
}

// PrekeyCounts says how many one-time prekeys a device has left.
func (d *Directory) PrekeyCounts(ctx context.Context, user wire.UserID, device wire.DeviceID) (directory.PrekeyCounts, error) {
	var c directory.PrekeyCounts
	err := d.r.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM prekeys WHERE user_id = ?1 AND device_id = ?2 AND kind = 1),
			(SELECT count(*) FROM prekeys WHERE user_id = ?1 AND device_id = ?2 AND kind = 2)
		FROM devices WHERE user_id = ?1 AND id = ?2`, user[:], int64(device)).Scan(&c.OneTime, &c.KEMOneTime)
	if err != nil {
		return directory.PrekeyCounts{}, fmt.Errorf("prekey counts: %w", notFound(err))
	}
	return c, nil
}
