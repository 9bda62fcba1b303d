package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/jetonhq/jeton/steam"
)

// Inventory sizes per game: the bounds of a generated inventory.
const (
	cs2MinItems, cs2MaxItems   = 6, 30
	rustMinItems, rustMaxItems = 3, 15
)

// Inventory returns the generated inventory of steamID in g: the same
// items for the same id on every call, in every process, so tests can
// name an asset id they saw once. It is read "now" on the sandbox clock.
func (s *Sandbox) Inventory(_ context.Context, steamID string, g steam.Game) ([]steam.Item, time.Time, error) {
	id, err := steam.ParseSteamID(steamID)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %q", ErrInvalidSteamID, steamID)
	}
	c, err := s.w.catalog(g)
	if err != nil {
		return nil, time.Time{}, err
	}
	return c.inventory(id), s.Now(), nil
}

// Market returns every listing of g. The slice is a fresh copy the caller
// may sort or filter; the Stickers slices inside are shared and read-only.
func (s *Sandbox) Market(_ context.Context, g steam.Game) ([]steam.Item, error) {
	c, err := s.w.catalog(g)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.listings), nil
}

// Listing returns one listing of g by id, or steam.ErrListingNotFound.
func (s *Sandbox) Listing(_ context.Context, g steam.Game, listingID string) (steam.Item, error) {
	c, err := s.w.catalog(g)
	if err != nil {
		return steam.Item{}, err
	}
	i, ok := c.byID[listingID]
	if !ok {
		return steam.Item{}, steam.ErrListingNotFound
	}
	return c.listings[i], nil
}

// Prices returns one row per catalog item of g: the deposit price and the
// cheapest standard and instant listings. The slice is a fresh copy.
func (s *Sandbox) Prices(_ context.Context, g steam.Game) ([]steam.Price, error) {
	c, err := s.w.catalog(g)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.prices), nil
}

// inventory generates the items of the account id in c's game. The
// generator is seeded from the id and the game only, with fixed keys.
func (c *catalog) inventory(id uint64) []steam.Item {
	lo, hi := cs2MinItems, cs2MaxItems
	gameBit := uint64(0)
	if c.game == steam.Rust {
		lo, hi, gameBit = rustMinItems, rustMaxItems, 1
	}
	r := rand.New(rand.NewPCG(splitmix(id^gameBit<<63), splitmix(id+0x6a65746f6e)^gameBit))
	out := make([]steam.Item, lo+r.IntN(hi-lo+1))
	appID := c.game.AppID()
	for slot := range out {
		u := r.Float64()
		it := &c.items[c.byPrice[int(u*u*float64(len(c.byPrice)))]]
		x := steam.Item{
			ID:             assetID(id, gameBit, slot),
			AppID:          appID,
			Name:           it.short,
			MarketHashName: it.name,
			Type:           it.typ,
			IconURL:        it.icon,
			Exterior:       it.exterior,
			Rarity:         it.rarity,
			Color:          it.color,
			Tradable:       r.IntN(10) != 0,
			MarketPrice:    it.price,
			Price:          it.deposit,
			Reference:      it.depRef,
			MaxAmount:      1,
			Amount:         1,
		}
		x.Accepted = x.Price >= 1 && x.Tradable
		if it.skin {
			x.Wear, x.PaintSeed = wearOf(it, r)
		}
		if it.stickers && r.IntN(5) == 0 {
			x.Stickers = c.stickersOf(r)
		}
		if it.stack > 1 {
			x.Amount = 1 + r.IntN(it.stack)
			x.MaxAmount = x.Amount
		}
		out[slot] = x
	}
	return out
}

// assetID is a 15-digit asset id unique per (Steam ID, game, slot): the
// triple is packed into 48 bits and scrambled by a bijection, so distinct
// triples never collide yet the ids look random.
func assetID(steamID, gameBit uint64, slot int) string {
	const mask = 1<<48 - 1
	// steam.ParseSteamID guarantees 76561 followed by 12 digits.
	x := ((steamID-76561000000000000)<<8 | gameBit<<7 | uint64(slot)) & mask
	x ^= x >> 24
	x = x * 0x5851f42d4c95 & mask // odd, so invertible mod 2^48
	x ^= x >> 21
	return strconv.FormatUint(x+100000000000000, 10)
}

// splitmix is SplitMix64's finaliser: it spreads an id over 64 bits.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
