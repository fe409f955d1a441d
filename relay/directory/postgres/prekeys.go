package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Kinds of one-time prekey in the prekeys table.
const (
	kindOneTime    = 1
	kindKEMOneTime = 2
)

// PublishKeys stores a device's public keys in one transaction.
func (d *Directory) PublishKeys(ctx context.Context, user wire.UserID, device wire.DeviceID, k directory.Keys) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("publish keys: %w", err)
	}
	// Absent values are sent as NULL so that COALESCE keeps what is stored.
	var identity []byte
	if len(k.Identity) > 0 {
		identity = k.Identity
	}
	var (
		sID, kID   *int64
		sPub, sSig []byte
		kPub, kSig []byte
	)
	if p := k.Signed; p != nil {
		id := int64(p.ID)
		sID, sPub, sSig = &id, p.Public, p.Signature
	}
	if p := k.KEMLastResort; p != nil {
		id := int64(p.ID)
		kID, kPub, kSig = &id, p.Public, p.Signature
	}
	// A vouch given replaces the stored one; a new identity key without
	// one clears it (the SET expressions all read the row as it was).
	var (
		vGiven  bool
		vDevice *int64
		vSig    []byte
	)
	if v := k.Vouch; v != nil {
		id := int64(v.Device)
		vGiven, vDevice, vSig = true, &id, v.Signature
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE devices SET
			identity = COALESCE($1, identity),
			signed_id = COALESCE($2, signed_id), signed_pub = COALESCE($3, signed_pub), signed_sig = COALESCE($4, signed_sig),
			kem_id = COALESCE($5, kem_id), kem_pub = COALESCE($6, kem_pub), kem_sig = COALESCE($7, kem_sig),
			vouch_device = CASE WHEN $10::boolean THEN $11::bigint WHEN $1::bytea IS NOT NULL AND $1::bytea IS DISTINCT FROM identity THEN NULL ELSE vouch_device END,
			vouch_sig = CASE WHEN $10::boolean THEN $12::bytea WHEN $1::bytea IS NOT NULL AND $1::bytea IS DISTINCT FROM identity THEN NULL ELSE vouch_sig END
			WHERE user_id = $8 AND id = $9`,
			identity, sID, sPub, sSig, kID, kPub, kSig, user[:], int64(device), vGiven, vDevice, vSig)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return directory.ErrNotFound
		}
		for _, pool := range []struct {
			kind int16
			keys []directory.Prekey
		}{{kindOneTime, k.OneTime}, {kindKEMOneTime, k.KEMOneTime}} {
			if len(pool.keys) == 0 {
				continue
			}
			ids := make([]int64, len(pool.keys))
			pubs := make([][]byte, len(pool.keys))
			sigs := make([][]byte, len(pool.keys))
			for i, p := range pool.keys {
				ids[i], pubs[i] = int64(p.ID), p.Public
				if len(p.Signature) > 0 {
					sigs[i] = p.Signature
				}
			}
			// WITH ORDINALITY ... ORDER BY: seq follows the order of
			// publication, which is the order of claims.
			if _, err := tx.Exec(ctx, `INSERT INTO prekeys (user_id, device_id, kind, key_id, public, signature)
				SELECT $1, $2, $3, k.id, k.pub, k.sig
				FROM unnest($4::bigint[], $5::bytea[], $6::bytea[]) WITH ORDINALITY AS k (id, pub, sig, n)
				ORDER BY k.n
				ON CONFLICT (user_id, device_id, kind, key_id) DO UPDATE SET public = excluded.public, signature = excluded.signature`,
				user[:], int64(device), pool.kind, ids, pubs, sigs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish keys: %w", err)
	}
	return nil
}

// ClaimBundle hands out a bundle for one device, removing the one-time
// prekeys it contains, in one transaction. FOR UPDATE SKIP LOCKED gives
// concurrent claimers different keys without making them wait.
func (d *Directory) ClaimBundle(ctx context.Context, user wire.UserID, device wire.DeviceID) (directory.Bundle, error) {
	b := directory.Bundle{Device: device}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var (
			sID, kID, vID    *int64
			sPub, sSig, vSig []byte
			kPub, kSig       []byte
		)
		err := tx.QueryRow(ctx, `SELECT `+deviceKeyColumns+`
			FROM devices WHERE user_id = $1 AND id = $2`, user[:], int64(device)).
			Scan(&b.Identity, &sID, &sPub, &sSig, &kID, &kPub, &kSig, &vID, &vSig)
		if err != nil {
			return notFound(err)
		}
		b.Vouch = vouch(vID, vSig)
		if len(b.Identity) == 0 || sID == nil {
			return directory.ErrNoPrekeys
		}
		b.Signed = directory.Prekey{ID: uint32(*sID), Public: sPub, Signature: sSig}

		b.OneTime, err = claimOne(ctx, tx, user, device, kindOneTime)
		if err != nil {
			return err
		}
		kem, err := claimOne(ctx, tx, user, device, kindKEMOneTime)
		switch {
		case err != nil:
			return err
		case kem != nil:
			b.KEM = *kem
		case kID != nil:
			b.KEM = directory.Prekey{ID: uint32(*kID), Public: kPub, Signature: kSig}
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
		sID, kID, vID    *int64
		sPub, sSig, vSig []byte
		kPub, kSig       []byte
	)
	err := d.pool.QueryRow(ctx, `SELECT `+deviceKeyColumns+`
		FROM devices WHERE user_id = $1 AND id = $2`, user[:], int64(device)).
		Scan(&b.Identity, &sID, &sPub, &sSig, &kID, &kPub, &kSig, &vID, &vSig)
	switch {
	case err != nil:
		return directory.Bundle{}, fmt.Errorf("last-resort bundle: %w", notFound(err))
	case len(b.Identity) == 0 || sID == nil || kID == nil:
		return directory.Bundle{}, fmt.Errorf("last-resort bundle: %w", directory.ErrNoPrekeys)
	}
	b.Signed = directory.Prekey{ID: uint32(*sID), Public: sPub, Signature: sSig}
	b.KEM = directory.Prekey{ID: uint32(*kID), Public: kPub, Signature: kSig}
	b.Vouch = vouch(vID, vSig)
	return b, nil
}

// deviceKeyColumns are a device's published keys and vouch.
const deviceKeyColumns = `identity, signed_id, signed_pub, signed_sig, kem_id, kem_pub, kem_sig, vouch_device, vouch_sig`

// vouch is the stored vouch, or nil.
func vouch(device *int64, sig []byte) *directory.Vouch {
	if device == nil {
		return nil
	}
	return &directory.Vouch{Device: wire.DeviceID(*device), Signature: sig}
}

// claimOne deletes and returns the oldest one-time prekey of a kind that no
// concurrent claim holds, or nil when there is none.
func claimOne(ctx context.Context, tx pgx.Tx, user wire.UserID, device wire.DeviceID, kind int16) (*directory.Prekey, error) {
	var (
		p  directory.Prekey
		id int64
	)
	err := tx.QueryRow(ctx, `DELETE FROM prekeys WHERE seq = (
			SELECT seq FROM prekeys WHERE user_id = $1 AND device_id = $2 AND kind = $3
			ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING key_id, public, signature`, user[:], int64(device), kind).Scan(&id, &p.Public, &p.Signature)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := d.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM prekeys WHERE user_id = $1 AND device_id = $2 AND kind = 1),
			(SELECT count(*) FROM prekeys WHERE user_id = $1 AND device_id = $2 AND kind = 2)
		FROM devices WHERE user_id = $1 AND id = $2`, user[:], int64(device)).Scan(&c.OneTime, &c.KEMOneTime)
	if err != nil {
		return directory.PrekeyCounts{}, fmt.Errorf("prekey counts: %w", notFound(err))
	}
	return c, nil
}
