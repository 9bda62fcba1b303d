package sandbox

import (
	"errors"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton/steam"
)

const (
	sid     = "76561198012345678" // partner 52079950
	partner = "52079950"
)

func tradeURL(t *testing.T, token string) string {
	t.Helper()
	u, err := TradeURLFor(sid, token)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

type rig struct {
	s     *Sandbox
	store *memStore
	clock *fakeClock
	t0    time.Time
	sent  map[string]time.Time // offer id -> real send time
}

func newRig(cfg Config) *rig {
	r := &rig{store: newMemStore(), clock: newFakeClock(), sent: map[string]time.Time{}}
	cfg.Now = r.clock.Now
	r.s = New(r.store, cfg)
	r.t0 = r.clock.Now()
	return r
}

var tradeN int

func (r *rig) send(t *testing.T, g steam.Game, token string) string {
	t.Helper()
	tradeN++
	id, _, err := r.s.SendOffer(ctx, steam.Offer{
		TradeID:   "trade-" + strconv.Itoa(tradeN),
		Game:      g,
		Direction: steam.FromUser,
		SteamID:   sid,
		TradeURL:  tradeURL(t, token),
		Items:     []steam.Item{{ID: "100000000000001"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.sent[id] = r.clock.Now()
	return id
}

// at sets the real clock to d after the offer was sent and returns the
// offer's status.
func (r *rig) at(t *testing.T, id string, d time.Duration) steam.OfferStatus {
	t.Helper()
	r.clock.mu.Lock()
	r.clock.t = r.sent[id].Add(d)
	r.clock.mu.Unlock()
	st, err := r.s.OfferStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestTradeURLFor(t *testing.T) {
	u, err := TradeURLFor(sid, "abcdEF_-")
	if err != nil || u != "https://steamcommunity.com/tradeoffer/new/?partner="+partner+"&token=abcdEF_-" {
		t.Fatalf("%q, %v", u, err)
	}
	for _, c := range [][2]string{{"76561000000000000", "abcdefgh"}, {"123", "abcdefgh"}, {sid, "short"}, {sid, "has spac"}} {
		if _, err := TradeURLFor(c[0], c[1]); err == nil {
			t.Errorf("TradeURLFor(%q, %q) succeeded", c[0], c[1])
		}
	}
}

func TestCheckTradeURL(t *testing.T) {
	s := New(newMemStore(), Config{})
	type want struct {
		state    steam.TradeURLState
		steamID  bool
		canTrade bool
		escrow   int
		prob     bool
		cs2, rst bool // CanTradeGame
	}
	cases := map[string]want{
		"abcdefgh":           {steam.StateNormal, true, true, 0, false, true, true},
		TokenDecline:         {steam.StateNormal, true, true, 0, false, true, true},
		TokenExpire:          {steam.StateNormal, true, true, 0, false, true, true},
		TokenFail:            {steam.StateNormal, true, true, 0, false, true, true},
		TokenReverseUser:     {steam.StateNormal, true, true, 0, false, true, true},
		TokenReverseSupplier: {steam.StateNormal, true, true, 0, false, true, true},
		"Banned00":           {steam.StateNormal, true, true, 0, false, true, true}, // case-sensitive
		TokenCS2Banned:       {steam.StateCS2Banned, true, true, 0, false, false, true},
		TokenRustBanned:      {steam.StateRustBanned, true, true, 0, false, true, false},
		TokenBanned:          {steam.StateBanned, true, false, 0, false, false, false},
		TokenPrivate:         {steam.StateInventoryPriv, true, false, 0, false, false, false},
		TokenInvalid:         {steam.StateTradeURLInvalid, false, false, 0, false, false, false},
		TokenNotFound:        {steam.StateUserNotFound, false, false, 0, false, false, false},
		TokenUnknownError:    {steam.StateUnknownError, false, false, 0, false, false, false},
		TokenEscrow:          {steam.StateNormal, true, false, 7, false, false, false},
		TokenProbation:       {steam.StateNormal, true, false, 0, true, false, false},
	}
	for token, w := range cases {
		c, err := s.CheckTradeURL(ctx, tradeURL(t, token))
		if err != nil {
			t.Fatal(err)
		}
		if c.State != w.state || (c.SteamID == sid) != w.steamID || (c.SteamID != "" && c.SteamID != sid) ||
			c.CanTrade != w.canTrade || c.EscrowDays != w.escrow || c.Probation != w.prob || c.Message == "" {
			t.Errorf("%s: %+v, want %+v", token, c, w)
		}
		if c.CanTradeGame(steam.CS2) != w.cs2 || c.CanTradeGame(steam.Rust) != w.rst {
			t.Errorf("%s: CanTradeGame cs2 %v rust %v", token, c.CanTradeGame(steam.CS2), c.CanTradeGame(steam.Rust))
		}
	}
	for _, bad := range []string{
		"", "https://steamcommunity.com/tradeoffer/new/?partner=52079950",
		"https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=abc",
		"http://steamcommunity.com/tradeoffer/new/?partner=52079950&token=abcdefgh",
		"https://steamcommunity.com/tradeoffer/new/?partner=9999999999&token=abcdefgh", // beyond 32 bits
	} {
		c, err := s.CheckTradeURL(ctx, bad)
		if err != nil || c.State != steam.StateTradeURLInvalid || c.SteamID != "" || c.CanTrade {
			t.Errorf("%q: %+v, %v", bad, c, err)
		}
	}
	c, _ := s.CheckTradeURL(ctx, "https://steamcommunity.com/tradeoffer/new/?partner=0&token=abcdefgh")
	if c.State != steam.StateNormal || c.SteamID != "76561197960265728" {
		t.Errorf("partner 0: %+v", c)
	}
}

func TestOfferTimelines(t *testing.T) {
	const (
		aa   = 2 * time.Second
		hold = 7 * 24 * time.Hour
		win  = 10 * time.Minute
	)
	type step struct {
		d    time.Duration // real clock minus send time
		want steam.OfferStatus
	}
	t0 := newFakeClock().Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	pending := func(next time.Duration) steam.OfferStatus {
		st := steam.OfferStatus{State: steam.OfferPending, At: t0}
		if next > 0 {
			st.NextCheck = at(next)
		}
		return st
	}
	accepted := steam.OfferStatus{State: steam.OfferAccepted, At: at(aa)}
	failed := func(reason string) []step {
		f := steam.OfferStatus{State: steam.OfferFailed, At: t0, Reason: reason}
		return []step{{0, f}, {aa, f}, {win, f}, {30 * 24 * time.Hour, f}}
	}
	normal := []step{
		{0, pending(aa)},
		{aa - time.Millisecond, pending(aa)},
		{aa, accepted},
		{aa + hold, accepted},
		{400 * 24 * time.Hour, accepted},
	}
	reversal := func(g steam.Game, by string) []step {
		if g == steam.Rust {
			return normal
		}
		rev := aa + hold/2
		return []step{
			{0, pending(aa)},
			{aa, steam.OfferStatus{State: steam.OfferAccepted, At: at(aa), NextCheck: at(rev)}},
			{rev - time.Millisecond, steam.OfferStatus{State: steam.OfferAccepted, At: at(aa), NextCheck: at(rev)}},
			{rev, steam.OfferStatus{State: steam.OfferReversed, At: at(rev), ReversedBy: by}},
			{aa + 2*hold, steam.OfferStatus{State: steam.OfferReversed, At: at(rev), ReversedBy: by}},
		}
	}
	for _, g := range []steam.Game{steam.CS2, steam.Rust} {
		cases := map[string][]step{
			"abcdefgh": normal,
			"Decline0": normal, // case-sensitive: an ordinary token
			TokenDecline: {
				{0, pending(aa)},
				{aa, steam.OfferStatus{State: steam.OfferDeclined, At: at(aa)}},
				{win, steam.OfferStatus{State: steam.OfferDeclined, At: at(aa)}},
			},
			TokenExpire: {
				{0, pending(win)},
				{aa, pending(win)},
				{win - time.Millisecond, pending(win)},
				{win, steam.OfferStatus{State: steam.OfferExpired, At: at(win)}},
				{hold, steam.OfferStatus{State: steam.OfferExpired, At: at(win)}},
			},
			TokenFail:            failed(ReasonAccountRestricted),
			TokenReverseUser:     reversal(g, ByUser),
			TokenReverseSupplier: reversal(g, BySupplier),
			TokenBanned:          failed(ReasonUserRestricted),
			TokenProbation:       failed(ReasonUserRestricted),
			TokenPrivate:         failed(ReasonInventoryPrivate),
			TokenInvalid:         failed(ReasonTradeURLInvalid),
			TokenNotFound:        failed(ReasonUserNotFound),
			TokenUnknownError:    failed(ReasonServiceUnavailable),
			TokenEscrow:          failed(ReasonEscrow),
			TokenCS2Banned:       normal,
			TokenRustBanned:      normal,
		}
		if g == steam.CS2 {
			cases[TokenCS2Banned] = failed(ReasonUserRestricted)
		} else {
			cases[TokenRustBanned] = failed(ReasonUserRestricted)
		}
		for token, steps := range cases {
			r := newRig(Config{AcceptAfter: aa})
			id := r.send(t, g, token)
			for _, s := range steps {
				if got := r.at(t, id, s.d); got != s.want {
					t.Errorf("%s %s at +%s: %+v, want %+v", g, token, s.d, got, s.want)
				}
			}
		}
	}
}

func TestHoldPeriod(t *testing.T) {
	if s := New(newMemStore(), Config{}); s.HoldPeriod(steam.CS2) != DefaultHold || s.HoldPeriod(steam.Rust) != 0 {
		t.Errorf("default hold %s / %s", s.HoldPeriod(steam.CS2), s.HoldPeriod(steam.Rust))
	}
	if s := New(newMemStore(), Config{Hold: time.Hour}); s.HoldPeriod(steam.CS2) != time.Hour {
		t.Error("hold not configurable")
	}
	// A negative hold means none: revuser0 offers then stay accepted and
	// Reverse refuses.
	r := newRig(Config{AcceptAfter: time.Second, Hold: -1})
	if r.s.HoldPeriod(steam.CS2) != 0 {
		t.Fatal("negative hold is not none")
	}
	id := r.send(t, steam.CS2, TokenReverseUser)
	if st := r.at(t, id, 30*24*time.Hour); st.State != steam.OfferAccepted || !st.NextCheck.IsZero() {
		t.Errorf("no hold: %+v", st)
	}
	if _, err := r.s.Reverse(ctx, id, ByUser); !errors.Is(err, ErrNotReversible) {
		t.Errorf("reverse without a hold: %v", err)
	}
}

func TestAcceptAfterZero(t *testing.T) {
	r := newRig(Config{})
	normal := r.send(t, steam.CS2, "abcdefgh")
	decline := r.send(t, steam.CS2, TokenDecline)
	expire := r.send(t, steam.CS2, TokenExpire)
	fail := r.send(t, steam.CS2, TokenFail)
	for _, id := range []string{normal, decline} {
		if st := r.at(t, id, 365*24*time.Hour); st.State != steam.OfferPending || !st.NextCheck.IsZero() || !st.At.Equal(r.t0) {
			t.Errorf("AcceptAfter 0: %+v, want pending with no next check", st)
		}
	}
	if st := r.at(t, expire, DefaultOfferWindow); st.State != steam.OfferExpired {
		t.Errorf("expire00 with AcceptAfter 0: %+v", st)
	}
	if st := r.at(t, fail, 0); st.State != steam.OfferFailed {
		t.Errorf("fail0000 with AcceptAfter 0: %+v", st)
	}
	// Only a control moves them.
	r.at(t, normal, 400*24*time.Hour)
	st, err := r.s.Accept(ctx, normal)
	now := r.s.Now()
	if err != nil || st.State != steam.OfferAccepted || !st.At.Equal(now) || !st.NextCheck.IsZero() {
		t.Fatalf("accept: %+v, %v", st, err)
	}
	if got, _ := r.s.OfferStatus(ctx, normal); got != st {
		t.Errorf("status after accept %+v, want %+v", got, st)
	}
	st, err = r.s.Decline(ctx, decline)
	if err != nil || st.State != steam.OfferDeclined || !st.At.Equal(now) {
		t.Fatalf("decline: %+v, %v", st, err)
	}
	// An AcceptAfter at or beyond the window: every offer expires.
	r = newRig(Config{AcceptAfter: time.Hour, OfferWindow: time.Hour})
	id := r.send(t, steam.CS2, "abcdefgh")
	if st := r.at(t, id, 0); st.NextCheck != r.t0.Add(time.Hour) {
		t.Errorf("next check %v", st.NextCheck)
	}
	if st := r.at(t, id, time.Hour); st.State != steam.OfferExpired {
		t.Errorf("AcceptAfter = OfferWindow: %+v", st)
	}
}

func TestControls(t *testing.T) {
	r := newRig(Config{AcceptAfter: 2 * time.Second})
	hold := DefaultHold

	// Accept early, then reverse inside the hold.
	a := r.send(t, steam.CS2, "abcdefgh")
	r.at(t, a, time.Second)
	st, err := r.s.Accept(ctx, a)
	if err != nil || st.State != steam.OfferAccepted || st.At != r.t0.Add(time.Second) {
		t.Fatalf("accept: %+v, %v", st, err)
	}
	if _, err := r.s.Accept(ctx, a); !errors.Is(err, ErrNotPending) {
		t.Errorf("second accept: %v", err)
	}
	if st, err := r.s.Decline(ctx, a); !errors.Is(err, ErrNotPending) || st.State != steam.OfferAccepted {
		t.Errorf("decline after accept: %+v, %v", st, err)
	}
	if _, err := r.s.Reverse(ctx, a, "admin"); !errors.Is(err, ErrInvalidReverser) {
		t.Errorf("reverse by admin: %v", err)
	}
	r.at(t, a, time.Second+hold-time.Millisecond)
	st, err = r.s.Reverse(ctx, a, BySupplier)
	if err != nil || st.State != steam.OfferReversed || st.ReversedBy != BySupplier || st.At != r.t0.Add(time.Second+hold-time.Millisecond) {
		t.Fatalf("reverse: %+v, %v", st, err)
	}
	if got := r.at(t, a, 2*hold); got != st {
		t.Errorf("reversed status moved: %+v", got)
	}
	if _, err := r.s.Reverse(ctx, a, ByUser); !errors.Is(err, ErrNotReversible) {
		t.Errorf("second reverse: %v", err)
	}
	if _, err := r.s.Accept(ctx, a); !errors.Is(err, ErrNotPending) {
		t.Errorf("accept after reverse: %v", err)
	}

	// Reverse is refused while pending, at the end of the hold, and
	// for Rust.
	r = newRig(Config{AcceptAfter: 2 * time.Second})
	b := r.send(t, steam.CS2, "abcdefgh")
	if _, err := r.s.Reverse(ctx, b, ByUser); !errors.Is(err, ErrNotReversible) {
		t.Errorf("reverse pending: %v", err)
	}
	r.at(t, b, 2*time.Second+hold)
	if st, err := r.s.Reverse(ctx, b, ByUser); !errors.Is(err, ErrNotReversible) || st.State != steam.OfferAccepted {
		t.Errorf("reverse after the hold: %+v, %v", st, err)
	}
	c := r.send(t, steam.Rust, "abcdefgh")
	r.at(t, c, 2*hold+time.Minute)
	if _, err := r.s.Reverse(ctx, c, ByUser); !errors.Is(err, ErrNotReversible) {
		t.Errorf("reverse rust: %v", err)
	}

	// Controls on failed, declined and expired offers.
	r = newRig(Config{AcceptAfter: 2 * time.Second})
	for token, state := range map[string]steam.OfferState{TokenFail: steam.OfferFailed, TokenDecline: steam.OfferDeclined, TokenExpire: steam.OfferExpired} {
		id := r.send(t, steam.CS2, token)
		r.at(t, id, time.Hour)
		if st, err := r.s.Accept(ctx, id); !errors.Is(err, ErrNotPending) || st.State != state {
			t.Errorf("%s: accept gave %+v, %v", token, st, err)
		}
		if _, err := r.s.Reverse(ctx, id, ByUser); !errors.Is(err, ErrNotReversible) {
			t.Errorf("%s: reverse gave %v", token, err)
		}
	}

	// A control beats the token: expire00 and decline0 accepted in time,
	// and an accepted revuser0 reversed by control before its schedule.
	r = newRig(Config{AcceptAfter: 2 * time.Second})
	e := r.send(t, steam.CS2, TokenExpire)
	d := r.send(t, steam.CS2, TokenDecline)
	r.at(t, e, time.Minute)
	if st, err := r.s.Accept(ctx, e); err != nil || st.State != steam.OfferAccepted {
		t.Errorf("accept expire00: %+v, %v", st, err)
	}
	r.at(t, d, time.Second)
	if st, err := r.s.Accept(ctx, d); err != nil || st.State != steam.OfferAccepted || st.At != r.t0.Add(time.Second) {
		t.Errorf("accept decline0: %+v, %v", st, err)
	}
	if st := r.at(t, d, time.Hour); st.State != steam.OfferAccepted {
		t.Errorf("decline0 after accept: %+v", st)
	}

	u := r.send(t, steam.CS2, TokenReverseUser)
	r.at(t, u, time.Second)
	st, err = r.s.Accept(ctx, u)
	rev := r.sent[u].Add(time.Second + hold/2)
	if err != nil || st.NextCheck != rev {
		t.Fatalf("accept revuser0: %+v, %v", st, err)
	}
	if st := r.at(t, u, time.Second+hold/2); st.State != steam.OfferReversed || st.ReversedBy != ByUser || st.At != rev {
		t.Errorf("revuser0 accepted by control: %+v", st)
	}
	v := r.send(t, steam.CS2, TokenReverseUser)
	r.at(t, v, time.Hour)
	if st, err := r.s.Reverse(ctx, v, BySupplier); err != nil || st.ReversedBy != BySupplier || st.At != r.sent[v].Add(time.Hour) {
		t.Errorf("early reverse of revuser0: %+v, %v", st, err)
	}
	if st := r.at(t, v, hold); st.ReversedBy != BySupplier {
		t.Errorf("control overridden by the schedule: %+v", st)
	}

	// A bare "reverse" control, as the root package's doc spells it,
	// reads as a reversal by the user.
	w := r.send(t, steam.CS2, "abcdefgh")
	r.at(t, w, time.Minute)
	if err := r.store.SetSandboxControl(ctx, w, "reverse", r.s.stamp()); err != nil {
		t.Fatal(err)
	}
	if st := r.at(t, w, time.Hour); st.State != steam.OfferReversed || st.ReversedBy != ByUser || st.At != r.sent[w].Add(time.Minute) {
		t.Errorf("bare reverse control: %+v", st)
	}

	// Unknown offers.
	for _, id := range []string{"sbx_0000000000000000", "nope", ""} {
		if _, err := r.s.OfferStatus(ctx, id); !errors.Is(err, steam.ErrOfferNotFound) {
			t.Errorf("status %q: %v", id, err)
		}
		if _, err := r.s.Accept(ctx, id); !errors.Is(err, steam.ErrOfferNotFound) {
			t.Errorf("accept %q: %v", id, err)
		}
		if _, err := r.s.Decline(ctx, id); !errors.Is(err, steam.ErrOfferNotFound) {
			t.Errorf("decline %q: %v", id, err)
		}
		if _, err := r.s.Reverse(ctx, id, ByUser); !errors.Is(err, steam.ErrOfferNotFound) {
			t.Errorf("reverse %q: %v", id, err)
		}
	}
}

var offerIDRE = regexp.MustCompile(`^sbx_[0-9a-f]{16}$`)

func TestSendOffer(t *testing.T) {
	r := newRig(Config{AcceptAfter: time.Second})
	if _, err := r.s.AdvanceClock(ctx, time.Hour+1500*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	o := steam.Offer{TradeID: "t1", Game: steam.CS2, Direction: steam.ToUser, SteamID: sid, TradeURL: tradeURL(t, "abcdefgh"), Items: []steam.Item{{ID: "x"}}}
	id, sent, err := r.s.SendOffer(ctx, o)
	if err != nil || !offerIDRE.MatchString(id) {
		t.Fatalf("%q, %v", id, err)
	}
	// The status that comes with the offer is the one OfferStatus reads.
	if st, err := r.s.OfferStatus(ctx, id); err != nil || st != sent || st.State != steam.OfferPending {
		t.Errorf("status at send %+v, read %+v, %v", sent, st, err)
	}
	stored := r.store.offers[id]
	want := r.t0.Add(time.Hour + time.Millisecond) // sandbox time, whole milliseconds
	if !stored.CreatedAt.Equal(want) || stored.TradeID != "t1" || stored.Game != "730" || stored.Direction != "to_user" || stored.SteamID != sid || stored.TradeURL != o.TradeURL || stored.Control != "" {
		t.Errorf("stored %+v, created want %v", stored, want)
	}
	// Idempotent by trade id, whatever else changed.
	o2 := o
	o2.TradeURL = tradeURL(t, TokenFail)
	r.clock.Add(time.Minute)
	id2, _, err := r.s.SendOffer(ctx, o2)
	if err != nil || id2 != id || len(r.store.offers) != 1 {
		t.Errorf("second send: %q, %v, %d offers", id2, err, len(r.store.offers))
	}
	if st, _ := r.s.OfferStatus(ctx, id); st.State != steam.OfferAccepted {
		t.Errorf("status %+v", st)
	}

	// Invalid offers are refused and nothing is stored.
	bad := map[string]func(*steam.Offer){
		"trade id":  func(o *steam.Offer) { o.TradeID = "" },
		"game":      func(o *steam.Offer) { o.Game = "440" },
		"direction": func(o *steam.Offer) { o.Direction = "sideways" },
		"items":     func(o *steam.Offer) { o.Items = nil },
		"steam id":  func(o *steam.Offer) { o.SteamID = "123" },
		"trade url": func(o *steam.Offer) { o.TradeURL = "https://example.com" },
	}
	for name, mutate := range bad {
		o := o
		o.TradeID = "bad-" + name
		mutate(&o)
		if _, _, err := r.s.SendOffer(ctx, o); !errors.Is(err, ErrInvalidOffer) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(r.store.offers) != 1 {
		t.Errorf("%d offers stored", len(r.store.offers))
	}

	// A trade URL of another account: sent, and failed at once.
	o3 := o
	o3.TradeID = "t3"
	o3.SteamID = "76561198000000001"
	id3, _, err := r.s.SendOffer(ctx, o3)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := r.s.OfferStatus(ctx, id3); st.State != steam.OfferFailed || st.Reason != ReasonTradeURLInvalid {
		t.Errorf("mismatched trade URL: %+v", st)
	}

	// Store failures are ErrUnavailable.
	r.store.fail = errors.New("disk on fire")
	o4 := o
	o4.TradeID = "t4"
	if _, _, err := r.s.SendOffer(ctx, o4); !errors.Is(err, steam.ErrUnavailable) {
		t.Errorf("store failure on send: %v", err)
	}
	if _, err := r.s.OfferStatus(ctx, id); !errors.Is(err, steam.ErrUnavailable) {
		t.Errorf("store failure on status: %v", err)
	}
	if err := r.s.Refresh(ctx); err == nil {
		t.Error("refresh ignored a store failure")
	}
}

func TestClock(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	a := New(store, Config{Now: clock.Now, AcceptAfter: 2 * time.Second})
	b := New(store, Config{Now: clock.Now, AcceptAfter: 2 * time.Second})
	t0 := clock.Now()
	for _, d := range []time.Duration{0, -time.Second, MaxClockStep + time.Nanosecond} {
		if _, err := a.AdvanceClock(ctx, d); !errors.Is(err, ErrClockStep) {
			t.Errorf("advance %s: %v", d, err)
		}
	}
	now, err := a.AdvanceClock(ctx, time.Hour)
	if err != nil || !now.Equal(t0.Add(time.Hour)) || !a.Now().Equal(now) || a.ClockOffset() != time.Hour {
		t.Fatalf("advance: %v, %v", now, err)
	}
	if !b.Now().Equal(t0) {
		t.Error("b saw the advance before a refresh")
	}
	if err := b.Refresh(ctx); err != nil || !b.Now().Equal(now) {
		t.Fatalf("refresh: %v, %v", b.Now(), err)
	}
	// A stale read never moves the clock back.
	store.offset = 0
	if err := b.Refresh(ctx); err != nil || b.ClockOffset() != time.Hour {
		t.Errorf("refresh stepped back to %s", b.ClockOffset())
	}
	store.offset = time.Hour
	if _, err := a.AdvanceClock(ctx, MaxClockStep); err != nil {
		t.Fatal(err)
	}

	// Advancing runs holds out: a revsupp0 offer is reversed, a normal
	// one can no longer be.
	store = newMemStore()
	s := New(store, Config{Now: clock.Now, AcceptAfter: 2 * time.Second})
	mk := func(token, trade string) string {
		id, _, err := s.SendOffer(ctx, steam.Offer{TradeID: trade, Game: steam.CS2, Direction: steam.FromUser, SteamID: sid, TradeURL: tradeURL(t, token), Items: []steam.Item{{ID: "1"}}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	rev, plain := mk(TokenReverseSupplier, "r"), mk("abcdefgh", "p")
	if _, err := s.AdvanceClock(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.OfferStatus(ctx, rev); st.State != steam.OfferAccepted || st.NextCheck.Sub(st.At) != DefaultHold/2 {
		t.Errorf("revsupp0 after AcceptAfter: %+v", st)
	}
	if _, err := s.AdvanceClock(ctx, 4*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.OfferStatus(ctx, rev); st.State != steam.OfferReversed || st.ReversedBy != BySupplier {
		t.Errorf("revsupp0 after 4 days: %+v", st)
	}
	if _, err := s.AdvanceClock(ctx, 3*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reverse(ctx, plain, ByUser); !errors.Is(err, ErrNotReversible) {
		t.Errorf("reverse after advancing past the hold: %v", err)
	}
}

func TestClockConcurrent(t *testing.T) {
	store := newMemStore()
	s := New(store, Config{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = s.Now()
				_ = s.Refresh(ctx)
				_, _ = s.AdvanceClock(ctx, time.Millisecond)
			}
		})
	}
	wg.Wait()
	if s.ClockOffset() != 800*time.Millisecond {
		t.Errorf("offset %s after 800 advances of 1ms", s.ClockOffset())
	}
}
