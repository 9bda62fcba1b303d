package sandbox

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton/steam"
)

var ctx = context.Background()

func TestCatalog(t *testing.T) {
	w := builtinWorld()
	if n := len(w.cs2.items) + len(w.rust.items); n < 200 {
		t.Fatalf("catalog has %d items, want at least 200", n)
	}
	if len(w.cs2.items) < 150 || len(w.rust.items) < 40 {
		t.Fatalf("cs2 %d, rust %d items", len(w.cs2.items), len(w.rust.items))
	}
	for _, c := range []*catalog{w.cs2, w.rust} {
		seen := map[string]bool{}
		for _, it := range c.items {
			if seen[it.name] {
				t.Errorf("%s: duplicate %q", c.game, it.name)
			}
			seen[it.name] = true
			if it.price < 1 || it.typ == "" || it.rarity == "" || len(it.color) != 6 || it.icon == "" {
				t.Errorf("%s: incomplete %+v", c.game, it)
			}
			if c.game == steam.Rust && (it.exterior != "" || it.skin) {
				t.Errorf("rust item %q has an exterior", it.name)
			}
		}
		for i := 1; i < len(c.byPrice); i++ {
			if c.items[c.byPrice[i-1]].price > c.items[c.byPrice[i]].price {
				t.Fatalf("%s: byPrice not sorted", c.game)
			}
		}
	}
	for _, name := range []string{"AK-47 | Redline (Field-Tested)", "AWP | Asiimov (Field-Tested)", "★ Karambit | Doppler (Factory New)", "Kilowatt Case", "Sticker | Crown (Foil)"} {
		if !hasItem(w.cs2, name) {
			t.Errorf("cs2 catalog lacks %q", name)
		}
	}
	for _, name := range []string{"Tempered AK47", "Big Grin", "No Mercy Hoodie", "Alien Red"} {
		if !hasItem(w.rust, name) {
			t.Errorf("rust catalog lacks %q", name)
		}
	}
	if len(w.cs2.stickers) == 0 {
		t.Error("no stickers in the cs2 catalog")
	}
	if got := iconOf(steam.CS2, "★ Karambit | Doppler (Factory New)"); got != "sandbox/730/karambit-doppler-factory-new" {
		t.Errorf("icon %q", got)
	}
}

func hasItem(c *catalog, name string) bool {
	for _, it := range c.items {
		if it.name == name {
			return true
		}
	}
	return false
}

var testIDs = []string{
	"76561198012345678", "76561197960265728", "76561198000000001", "76561198999999999",
	"76561199123456789", "76561000000000000", "76561999999999999", "76561198087654321",
}

func TestInventoryDeterministic(t *testing.T) {
	clock := newFakeClock()
	a := New(newMemStore(), Config{Now: clock.Now})
	b := New(newMemStore(), Config{})
	for _, g := range []steam.Game{steam.CS2, steam.Rust} {
		lo, hi := cs2MinItems, cs2MaxItems
		if g == steam.Rust {
			lo, hi = rustMinItems, rustMaxItems
		}
		var prev []steam.Item
		for _, id := range testIDs {
			x, at, err := a.Inventory(ctx, id, g)
			if err != nil {
				t.Fatal(err)
			}
			if !at.Equal(clock.Now()) {
				t.Errorf("updatedAt %v, want the sandbox now %v", at, clock.Now())
			}
			y, _, _ := a.Inventory(ctx, id, g)
			z, _, _ := b.Inventory(ctx, id, g)
			if !reflect.DeepEqual(x, y) || !reflect.DeepEqual(x, z) {
				t.Fatalf("%s %s: inventory differs between calls", g, id)
			}
			if reflect.DeepEqual(x, prev) {
				t.Errorf("%s %s: same inventory as the previous id", g, id)
			}
			prev = x
			if len(x) < lo || len(x) > hi {
				t.Errorf("%s %s: %d items", g, id, len(x))
			}
			for _, it := range x {
				checkInventoryItem(t, g, it)
			}
		}
	}
}

var assetRE = regexp.MustCompile(`^[1-9][0-9]{14}$`)

func checkInventoryItem(t *testing.T, g steam.Game, it steam.Item) {
	t.Helper()
	if !assetRE.MatchString(it.ID) || it.AppID != g.AppID() || it.MarketHashName == "" || it.Name == "" {
		t.Errorf("bad item %+v", it)
	}
	if it.MarketPrice < 1 || it.Price != it.MarketPrice*92/100 || it.Reference == "" {
		t.Errorf("%s: market %d price %d ref %q", it.MarketHashName, it.MarketPrice, it.Price, it.Reference)
	}
	if it.Accepted != (it.Price >= 1 && it.Tradable) {
		t.Errorf("%s: accepted %v with price %d tradable %v", it.MarketHashName, it.Accepted, it.Price, it.Tradable)
	}
	if it.Market != 0 || it.Delivery != "" {
		t.Errorf("%s: inventory item with market fields", it.MarketHashName)
	}
	if g == steam.CS2 && (it.MaxAmount != 1 || it.Amount != 1) {
		t.Errorf("%s: amount %d/%d", it.MarketHashName, it.Amount, it.MaxAmount)
	}
	if g == steam.Rust && (it.Amount < 1 || it.MaxAmount != it.Amount) {
		t.Errorf("%s: amount %d/%d", it.MarketHashName, it.Amount, it.MaxAmount)
	}
	checkWear(t, it)
}

func checkWear(t *testing.T, it steam.Item) {
	t.Helper()
	lim, skin := exteriors[it.Exterior]
	if !skin {
		if it.Wear != "" || it.PaintSeed != 0 || len(it.Stickers) != 0 {
			t.Errorf("%s: wear %q seed %d stickers %d without a skin", it.MarketHashName, it.Wear, it.PaintSeed, len(it.Stickers))
		}
		return
	}
	if len(it.Wear) != 12 || !strings.HasPrefix(it.Wear, "0.") {
		t.Errorf("%s: wear %q", it.MarketHashName, it.Wear)
	}
	f, err := strconv.ParseFloat(it.Wear, 64)
	if err != nil || f < float64(lim[0])/1e10 || f >= float64(lim[1])/1e10 {
		t.Errorf("%s: wear %q outside %s", it.MarketHashName, it.Wear, it.Exterior)
	}
	if it.PaintSeed < 0 || it.PaintSeed > 1000 {
		t.Errorf("%s: paint seed %d", it.MarketHashName, it.PaintSeed)
	}
	if len(it.Stickers) > 0 && strings.HasPrefix(it.MarketHashName, "★") {
		t.Errorf("%s: knife or gloves with stickers", it.MarketHashName)
	}
	for i, s := range it.Stickers {
		if s.Slot != i || s.Name == "" || strings.HasPrefix(s.Name, "Sticker |") {
			t.Errorf("%s: sticker %+v", it.MarketHashName, s)
		}
	}
}

func TestInventoryProperties(t *testing.T) {
	s := New(newMemStore(), Config{})
	ids := map[string]string{}
	var total, tradable, stickered int
	refOf := map[string]string{}
	for n := range 300 {
		sid := strconv.FormatUint(76561198000000000+uint64(n)*7919, 10)
		for _, g := range []steam.Game{steam.CS2, steam.Rust} {
			items, _, err := s.Inventory(ctx, sid, g)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if prev, dup := ids[it.ID]; dup {
					t.Fatalf("asset id %s of %s %s also in %s", it.ID, sid, g, prev)
				}
				ids[it.ID] = sid + "/" + string(g)
				total++
				if it.Tradable {
					tradable++
				}
				if len(it.Stickers) > 0 {
					stickered++
				}
				key := it.MarketHashName + "|" + strconv.FormatInt(it.Price, 10)
				if r, ok := refOf[key]; ok && r != it.Reference {
					t.Fatalf("%s: two references for one item and price", key)
				}
				refOf[key] = it.Reference
			}
		}
	}
	if tradable == total || tradable < total*8/10 {
		t.Errorf("%d of %d tradable; want some but not all non-tradable", tradable, total)
	}
	if stickered == 0 {
		t.Error("no inventory item has stickers")
	}
	// A different price gives a different reference.
	if reference("deposit", "730", "x", 100) == reference("deposit", "730", "x", 101) {
		t.Error("reference ignores the price")
	}
	seen := map[string]bool{}
	for _, r := range refOf {
		if seen[r] {
			t.Errorf("reference %s shared by two items", r)
		}
		seen[r] = true
	}
}

func TestInventoryErrors(t *testing.T) {
	s := New(newMemStore(), Config{})
	for _, id := range []string{"", "7656119801234567", "765611980123456789", "86561198012345678", "7656119801234567x"} {
		if _, _, err := s.Inventory(ctx, id, steam.CS2); !errors.Is(err, ErrInvalidSteamID) {
			t.Errorf("%q: err %v, want ErrInvalidSteamID", id, err)
		}
	}
	if _, _, err := s.Inventory(ctx, testIDs[0], "440"); !errors.Is(err, ErrInvalidGame) {
		t.Errorf("game 440: err %v", err)
	}
	if _, err := s.Market(ctx, "440"); !errors.Is(err, ErrInvalidGame) {
		t.Errorf("market 440: err %v", err)
	}
	if _, err := s.Prices(ctx, ""); !errors.Is(err, ErrInvalidGame) {
		t.Errorf("prices: err %v", err)
	}
	if _, err := s.Listing(ctx, "440", "x"); !errors.Is(err, ErrInvalidGame) {
		t.Errorf("listing: err %v", err)
	}
}

func TestAssetIDUnique(t *testing.T) {
	// The packing is a bijection: neighbouring ids, games and slots never
	// collide, at the ends of the Steam ID range too.
	seen := map[string]bool{}
	for _, base := range []uint64{76561000000000000, 76561197960265728, 76561999999999000} {
		for d := range uint64(200) {
			for g := range uint64(2) {
				for slot := range cs2MaxItems {
					id := assetID(base+d, g, slot)
					if seen[id] || !assetRE.MatchString(id) {
						t.Fatalf("asset id %s repeated or malformed", id)
					}
					seen[id] = true
				}
			}
		}
	}
}

var (
	uuidRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	rustLstRE = regexp.MustCompile(`^252490_[0-9]{8}_[1-6]$`)
)

func TestMarket(t *testing.T) {
	s := New(newMemStore(), Config{})
	for _, g := range []steam.Game{steam.CS2, steam.Rust} {
		items, err := s.Market(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) < 100 && g == steam.CS2 || len(items) < 30 {
			t.Errorf("%s: only %d listings", g, len(items))
		}
		again, _ := s.Market(ctx, g)
		if !reflect.DeepEqual(items, again) {
			t.Fatalf("%s: market differs between calls", g)
		}
		ids := map[string]bool{}
		deliveries := map[string]int{}
		for _, it := range items {
			if ids[it.ID] {
				t.Errorf("duplicate listing id %s", it.ID)
			}
			ids[it.ID] = true
			re := uuidRE
			if g == steam.Rust {
				re = rustLstRE
			}
			if !re.MatchString(it.ID) {
				t.Errorf("%s: listing id %q", g, it.ID)
			}
			got, err := s.Listing(ctx, g, it.ID)
			if err != nil || !reflect.DeepEqual(got, it) {
				t.Fatalf("Listing(%s) = %+v, %v", it.ID, got, err)
			}
			other := steam.Rust
			if g == steam.Rust {
				other = steam.CS2
			}
			if _, err := s.Listing(ctx, other, it.ID); !errors.Is(err, steam.ErrListingNotFound) {
				t.Errorf("listing %s found in the other game", it.ID)
			}
			deliveries[it.Delivery]++
			if it.Market < 1 || it.Market > 3 || it.AppID != g.AppID() || !it.Tradable || !it.Accepted || it.Reference == "" {
				t.Errorf("bad listing %+v", it)
			}
			if it.Price < it.MarketPrice*95/100 || it.Price > it.MarketPrice*120/100+1 || it.Price < 1 {
				t.Errorf("%s: ask %d for reference %d", it.ID, it.Price, it.MarketPrice)
			}
			if g == steam.CS2 && it.MaxAmount != 1 || it.Amount < 1 || it.MaxAmount != it.Amount {
				t.Errorf("%s: amount %d max %d", it.ID, it.Amount, it.MaxAmount)
			}
			checkWear(t, it)
		}
		if len(deliveries) != 2 || deliveries["normal"] == 0 || deliveries["auto"] == 0 {
			t.Errorf("%s: deliveries %v", g, deliveries)
		}
		// The returned slice is the caller's: changing it changes nothing.
		items[0].Price = -1
		if l, _ := s.Listing(ctx, g, items[0].ID); l.Price == -1 {
			t.Error("Market returned the shared slice")
		}
	}
	if _, err := s.Listing(ctx, steam.CS2, "nope"); !errors.Is(err, steam.ErrListingNotFound) {
		t.Errorf("unknown listing: %v", err)
	}
}

func TestPrices(t *testing.T) {
	s := New(newMemStore(), Config{})
	w := builtinWorld()
	for _, g := range []steam.Game{steam.CS2, steam.Rust} {
		c, _ := w.catalog(g)
		rows, err := s.Prices(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(c.items) {
			t.Fatalf("%s: %d rows for %d items", g, len(rows), len(c.items))
		}
		market, _ := s.Market(ctx, g)
		type best struct {
			std, inst, any int64
			id             string
		}
		want := map[string]*best{}
		for _, l := range market {
			b := want[l.MarketHashName]
			if b == nil {
				b = &best{}
				want[l.MarketHashName] = b
			}
			if l.Delivery == "auto" && (b.inst == 0 || l.Price < b.inst) {
				b.inst = l.Price
			}
			if l.Delivery == "normal" && (b.std == 0 || l.Price < b.std) {
				b.std = l.Price
			}
			if b.any == 0 || l.Price < b.any {
				b.any, b.id = l.Price, l.ID
			}
		}
		var unaccepted, unlisted int
		for i, r := range rows {
			if r.MarketHashName != c.items[i].name {
				t.Fatalf("row %d is %q, want catalog order", i, r.MarketHashName)
			}
			dep := c.items[i].price * 92 / 100
			if r.Accepted != (dep >= 1) || r.Accepted && r.Deposit != dep || !r.Accepted && r.Deposit != 0 {
				t.Errorf("%s: accepted %v deposit %d", r.MarketHashName, r.Accepted, r.Deposit)
			}
			if !r.Accepted {
				unaccepted++
			}
			b := want[r.MarketHashName]
			if b == nil {
				unlisted++
				if r.ItemID != "" || r.WithdrawStandard != 0 || r.WithdrawInstant != 0 {
					t.Errorf("%s: unlisted item with withdraw prices %+v", r.MarketHashName, r)
				}
				continue
			}
			if r.WithdrawStandard != b.std || r.WithdrawInstant != b.inst || r.ItemID != b.id {
				t.Errorf("%s: row %+v, want std %d inst %d id %s", r.MarketHashName, r, b.std, b.inst, b.id)
			}
			if l, err := s.Listing(ctx, g, r.ItemID); err != nil || l.Price != b.any {
				t.Errorf("%s: cheapest listing %s: %v", r.MarketHashName, r.ItemID, err)
			}
		}
		if g == steam.CS2 && (unaccepted == 0 || unlisted == 0) {
			t.Errorf("cs2: %d unaccepted, %d unlisted rows; want some of each", unaccepted, unlisted)
		}
	}
}

func TestUUIDOf(t *testing.T) {
	if got := uuidOf(0x0123456789abcdef, 0xfedcba9876543210); got != "01234567-89ab-4def-bedc-ba9876543210" {
		t.Errorf("uuid %q", got)
	}
	if got := uuidOf(0, 0); got != "00000000-0000-4000-8000-000000000000" {
		t.Errorf("uuid %q", got)
	}
}

// BenchmarkInventory is the per-request cost of an inventory: it is
// generated on every call, never cached.
func BenchmarkInventory(b *testing.B) {
	s := New(newMemStore(), Config{})
	for _, g := range []steam.Game{steam.CS2, steam.Rust} {
		b.Run(string(g), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				items, _, err := s.Inventory(ctx, testIDs[n%len(testIDs)], g)
				if err != nil || len(items) == 0 {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}

func BenchmarkMarket(b *testing.B) {
	s := New(newMemStore(), Config{})
	for _, g := range []steam.Game{steam.CS2, steam.Rust} {
		b.Run(string(g), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Market(ctx, g); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkListing(b *testing.B) {
	s := New(newMemStore(), Config{})
	items, _ := s.Market(ctx, steam.CS2)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := s.Listing(ctx, steam.CS2, items[n%len(items)].ID); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func BenchmarkPrices(b *testing.B) {
	s := New(newMemStore(), Config{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Prices(ctx, steam.CS2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOfferStatus(b *testing.B) {
	s := New(newMemStore(), Config{AcceptAfter: time.Second})
	u, _ := TradeURLFor(testIDs[0], TokenReverseUser)
	id, _, err := s.SendOffer(ctx, steam.Offer{TradeID: "t", Game: steam.CS2, Direction: steam.FromUser, SteamID: testIDs[0], TradeURL: u, Items: []steam.Item{{ID: "1"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.OfferStatus(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}
