package sandbox

import (
	"cmp"
	"embed"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jetonhq/jeton/steam"
)

//go:embed catalog/cs2.tsv catalog/rust.tsv
var catalogFiles embed.FS

// depositPercent is the share of the reference market price the sandbox
// pays on a deposit.
const depositPercent = 92

// item is one catalog entry: a market hash name and its reference price.
type item struct {
	name     string // market hash name
	short    string // Name: the market hash name without its exterior
	typ      string
	rarity   string
	color    string
	exterior string
	price    int64 // reference market price, cents
	stack    int   // largest stack in one inventory slot (1 for CS2)
	icon     string
	skin     bool // has a wear float and a paint seed
	stickers bool // may carry stickers (CS2 guns)
	sticker  bool // is itself a sticker
	deposit  int64
	depRef   string
	num      uint32 // Rust catalog number, used in listing ids
}

// catalog is one game's items with the listings generated from them.
type catalog struct {
	game     steam.Game
	items    []item
	byPrice  []int // item indices, cheapest first
	stickers []int // sticker item indices
	listings []steam.Item
	byID     map[string]int // listing id -> index in listings
	prices   []steam.Price
}

// world is everything the sandbox derives from its embedded data. It
// depends on nothing else, so it is built once per process and shared.
type world struct {
	cs2, rust *catalog
}

var builtinWorld = sync.OnceValue(func() *world {
	w, err := buildWorld()
	if err != nil {
		// The data is embedded at compile time; the tests load it.
		panic(err)
	}
	return w
})

func buildWorld() (*world, error) {
	cs2, err := loadCatalog(steam.CS2, "catalog/cs2.tsv")
	if err != nil {
		return nil, err
	}
	rust, err := loadCatalog(steam.Rust, "catalog/rust.tsv")
	if err != nil {
		return nil, err
	}
	for _, c := range []*catalog{cs2, rust} {
		if err := c.buildMarket(); err != nil {
			return nil, err
		}
	}
	return &world{cs2: cs2, rust: rust}, nil
}

func (w *world) catalog(g steam.Game) (*catalog, error) {
	switch g {
	case steam.CS2:
		return w.cs2, nil
	case steam.Rust:
		return w.rust, nil
	}
	return nil, fmt.Errorf("%w: got %q", ErrInvalidGame, string(g))
}

// wear ranges of the CS2 exteriors, in units of 1e-10.
var exteriors = map[string][2]int64{
	"Factory New":    {0, 700000000},
	"Minimal Wear":   {700000000, 1500000000},
	"Field-Tested":   {1500000000, 3800000000},
	"Well-Worn":      {3800000000, 4500000000},
	"Battle-Scarred": {4500000000, 10000000000},
}

func loadCatalog(g steam.Game, path string) (*catalog, error) {
	data, err := catalogFiles.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &catalog{game: g}
	seen := map[string]bool{}
	nums := map[uint32]bool{}
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 7", path, n+1, len(f))
		}
		it := item{name: f[0], typ: f[1], rarity: f[2], color: f[3], exterior: f[4]}
		it.price, err = strconv.ParseInt(f[5], 10, 64)
		if err != nil || it.price < 1 {
			return nil, fmt.Errorf("%s:%d: bad price %q", path, n+1, f[5])
		}
		it.stack, err = strconv.Atoi(f[6])
		if err != nil || it.stack < 1 || g == steam.CS2 && it.stack != 1 {
			return nil, fmt.Errorf("%s:%d: bad stack %q", path, n+1, f[6])
		}
		if it.name == "" || it.typ == "" || it.rarity == "" || len(it.color) != 6 {
			return nil, fmt.Errorf("%s:%d: missing field", path, n+1)
		}
		if seen[it.name] {
			return nil, fmt.Errorf("%s:%d: duplicate %q", path, n+1, it.name)
		}
		seen[it.name] = true
		it.short = it.name
		if _, ok := exteriors[it.exterior]; ok {
			suffix := " (" + it.exterior + ")"
			if !strings.HasSuffix(it.name, suffix) {
				return nil, fmt.Errorf("%s:%d: exterior %q not in the name", path, n+1, it.exterior)
			}
			it.short = strings.TrimSuffix(it.name, suffix)
			it.skin = true
			it.stickers = !strings.HasPrefix(it.name, "★")
		}
		it.sticker = strings.HasPrefix(it.name, "Sticker | ")
		it.icon = iconOf(g, it.name)
		it.deposit = it.price * depositPercent / 100
		it.depRef = reference("deposit", string(g), it.name, it.deposit)
		if g == steam.Rust {
			it.num = 10000000 + fnv32(it.name)%90000000
			if nums[it.num] {
				return nil, fmt.Errorf("%s:%d: catalog number collision", path, n+1)
			}
			nums[it.num] = true
		}
		c.items = append(c.items, it)
	}
	c.byPrice = make([]int, len(c.items))
	for i := range c.byPrice {
		c.byPrice[i] = i
		if c.items[i].sticker {
			c.stickers = append(c.stickers, i)
		}
	}
	slices.SortStableFunc(c.byPrice, func(a, b int) int {
		return cmp.Compare(c.items[a].price, c.items[b].price)
	})
	return c, nil
}

// iconOf is a placeholder Steam image path fragment: readable, derived
// from the name, the same on every call.
func iconOf(g steam.Game, name string) string {
	var b strings.Builder
	b.WriteString("sandbox/")
	b.WriteString(string(g))
	b.WriteByte('/')
	dash := true // no leading dash
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// buildMarket generates 0-6 listings per item, the listing index and the
// price list. The generator of each item is seeded by its name alone, so
// adding an item to a catalog does not move the others' listings.
func (c *catalog) buildMarket() error {
	c.byID = map[string]int{}
	c.prices = make([]steam.Price, 0, len(c.items))
	for i := range c.items {
		it := &c.items[i]
		seed := fnv64(string(c.game) + "\x00market\x00" + it.name)
		r := rand.New(rand.NewPCG(seed, 0x6a657430_6e6d6b74))
		row := steam.Price{MarketHashName: it.name, Accepted: it.deposit >= 1}
		if row.Accepted {
			row.Deposit = it.deposit
		}
		var cheapest int64
		for m := range r.IntN(7) {
			l := c.listing(it, m, r)
			if _, dup := c.byID[l.ID]; dup {
				return fmt.Errorf("sandbox: listing id collision %s", l.ID)
			}
			c.byID[l.ID] = len(c.listings)
			c.listings = append(c.listings, l)
			if cheapest == 0 || l.Price < cheapest {
				cheapest, row.ItemID = l.Price, l.ID
			}
			p := &row.WithdrawStandard
			if l.Delivery == "auto" {
				p = &row.WithdrawInstant
			}
			if *p == 0 || l.Price < *p {
				*p = l.Price
			}
		}
		c.prices = append(c.prices, row)
	}
	return nil
}

func (c *catalog) listing(it *item, m int, r *rand.Rand) steam.Item {
	var id string
	if c.game == steam.CS2 {
		id = uuidOf(r.Uint64(), r.Uint64())
	} else {
		id = "252490_" + strconv.FormatUint(uint64(it.num), 10) + "_" + strconv.Itoa(m+1)
	}
	price := max(it.price*int64(95+r.IntN(26))/100, 1)
	l := steam.Item{
		ID:             id,
		AppID:          c.game.AppID(),
		Name:           it.short,
		MarketHashName: it.name,
		Type:           it.typ,
		IconURL:        it.icon,
		Exterior:       it.exterior,
		Rarity:         it.rarity,
		Color:          it.color,
		Tradable:       true,
		MarketPrice:    it.price,
		Price:          price,
		Reference:      reference("listing", id, "", price),
		Accepted:       true,
		MaxAmount:      1,
		Amount:         1,
		Market:         1 + r.IntN(3),
		Delivery:       "normal",
	}
	if r.IntN(2) == 1 {
		l.Delivery = "auto"
	}
	if it.skin {
		l.Wear, l.PaintSeed = wearOf(it, r)
	}
	if it.stickers && r.IntN(4) == 0 {
		l.Stickers = c.stickersOf(r)
	}
	if it.stack > 1 {
		l.Amount = 1 + r.IntN(min(it.stack, 3))
		l.MaxAmount = l.Amount
	}
	return l
}

// wearOf draws a wear float inside the item's exterior range, as a
// 10-decimal string, and a paint seed.
func wearOf(it *item, r *rand.Rand) (string, int) {
	lim := exteriors[it.exterior]
	v := lim[0] + r.Int64N(lim[1]-lim[0])
	s := strconv.FormatInt(v, 10)
	return "0." + strings.Repeat("0", 10-len(s)) + s, r.IntN(1001)
}

func (c *catalog) stickersOf(r *rand.Rand) []steam.Sticker {
	if len(c.stickers) == 0 {
		return nil
	}
	out := make([]steam.Sticker, 1+r.IntN(4))
	for i := range out {
		st := &c.items[c.stickers[r.IntN(len(c.stickers))]]
		out[i] = steam.Sticker{Name: strings.TrimPrefix(st.name, "Sticker | "), Slot: i, IconURL: st.icon}
	}
	return out
}

// reference is a short deterministic id of an offer: what is offered and
// at which price, so a changed price gives a changed reference.
func reference(kind, a, b string, price int64) string {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(a))
	h.Write([]byte{0})
	h.Write([]byte(b))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, price, 10))
	return strconv.FormatUint(h.Sum64()&(1<<48-1)|1<<48, 16)[1:]
}

// uuidOf formats two random words as a version-4 UUID.
func uuidOf(hi, lo uint64) string {
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(3<<62) | 2<<62
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		w := hi
		if i >= 16 {
			w = lo
		}
		b[j] = hex[w>>(60-4*uint(i%16))&0xf]
		j++
	}
	return string(b[:])
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
