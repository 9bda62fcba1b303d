// Package trading is the AssetPay trading engine: it creates deposits and
// withdrawals, asks the merchant to approve withdrawals, drives trade
// offers through the Steam backend, and posts every money movement to the
// merchant's ledger in the same transaction as the status change and the
// callback it causes.
package trading

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/internal/ids"
	"github.com/jetonhq/jeton/risk"
	"github.com/jetonhq/jeton/steam"
)

// Store is what the engine keeps its state in.
type Store interface {
	jeton.TradeStore
	TradeAny(ctx context.Context, id string) (jeton.Trade, error)
	UserHistory(ctx context.Context, merchantID, steamID string) (jeton.UserHistory, error)
	Client(ctx context.Context, merchantID, steamID string) (jeton.Client, error)
}

// Callbacks sends approval calls.
type Callbacks interface {
	// Approve makes one approval call and returns the verdict with the
	// attempt to record.
	Approve(ctx context.Context, t jeton.Trade, attempt int) (callback.Verdict, jeton.CallbackAttempt, error)
	// RecordAttempt stores an attempt that no trade change carried.
	RecordAttempt(ctx context.Context, a jeton.CallbackAttempt)
}

// Merchants looks merchants up (cached by the credential service).
type Merchants interface {
	Merchant(ctx context.Context, id string) (jeton.Merchant, error)
	// FreshMerchant bypasses the cache.
	FreshMerchant(ctx context.Context, id string) (jeton.Merchant, error)
}

// Config configures the engine. Every field without a default is required.
type Config struct {
	Store     Store
	Backend   steam.Backend
	Callbacks Callbacks
	Merchants Merchants
	Risk      risk.Model
	// OpeningBalance is credited to a wallet when it is first opened; the
	// sandbox gives every merchant SandboxBalance.
	OpeningBalance jeton.USD
	// Workers is how many trades are advanced at once (default 64).
	Workers int
	// Sweep is how often due trades are looked for (default 250 ms).
	Sweep time.Duration
	// ApprovalTimeout bounds one approval call (default
	// callback.ApprovalTimeout); the claim on an attempt outlives it.
	ApprovalTimeout time.Duration
	Log             *slog.Logger
}

// SandboxBalance is the documented opening balance of a sandbox wallet:
// $10,000.00.
const SandboxBalance jeton.USD = 1_000_000

// Limits on a trade request.
const (
	MaxDepositItems  = 250
	MaxWithdrawItems = 50
	// MaxActiveDeposits is how many of one user's deposits may wait on
	// their trade offer (INITIATED or ACTIVE) at once, as the vendor
	// allows.
	MaxActiveDeposits = 5
	// MaxApprovalAttempts is how many approval calls a withdrawal gets.
	MaxApprovalAttempts = 3
	// leaseMargin is how much an approval lease outlives one approval
	// call, so an attempt is only ever made by one instance at a time.
	leaseMargin = 2 * time.Second
)

// Service is the trading engine.
type Service struct {
	cfg    Config
	opened syncSet
	kicks  chan string
	// running maps a trade being advanced to whether it was kicked again
	// meanwhile: the worker then advances it once more rather than the
	// kick being dropped.
	running sync.Map // string -> *atomic.Bool
	// queued holds the trades waiting in kicks, so a trade is queued
	// once however often the sweeper finds it due: behind on work, the
	// engine must not fill its queue with copies of the same backlog.
	// The value holds the newest copy of the trade its kickers had (or
	// none): the worker starts from it instead of reading the trade
	// again. A stale copy costs a read: every write checks the version
	// it decided from.
	queued sync.Map // string -> *queuedTrade
}

// New returns an engine; call Run to start its workers.
func New(cfg Config) *Service {
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = 250 * time.Millisecond
	}
	if cfg.ApprovalTimeout <= 0 {
		cfg.ApprovalTimeout = callback.ApprovalTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, kicks: make(chan string, 4096)}
}

func (s *Service) now() time.Time { return s.cfg.Backend.Now().UTC().Truncate(time.Microsecond) }

// NewTradeID returns a UUID, as the vendor's ids are; version 7, so
// trades are stored in the order they were made.
func NewTradeID() string { return ids.UUID() }

func newPostingID() string { return ids.Prefixed("lp_") }

// clientUserID is jeton's stable id of one user of one merchant.
func clientUserID(merchantID, steamID string) string {
	h := sha256.Sum256([]byte(merchantID + "\x00" + steamID))
	return "cu_" + hex.EncodeToString(h[:10])
}

// Wallet opens the merchant's wallet if needed and returns it.
func (s *Service) Wallet(ctx context.Context, merchantID string) (jeton.Wallet, error) {
	if err := s.openWallet(ctx, merchantID); err != nil {
		return jeton.Wallet{}, err
	}
	return s.cfg.Store.Wallet(ctx, merchantID)
}

// EnsureWallet opens the merchant's wallet (with the sandbox opening
// balance) if it is not open yet.
func (s *Service) EnsureWallet(ctx context.Context, merchantID string) error {
	return s.openWallet(ctx, merchantID)
}

func (s *Service) openWallet(ctx context.Context, merchantID string) error {
	if s.opened.has(merchantID) {
		return nil
	}
	var opening *jeton.Posting
	if s.cfg.OpeningBalance > 0 {
		opening = &jeton.Posting{ID: newPostingID(), MerchantID: merchantID, TradeID: "", Type: jeton.PostOpening,
			Memo: "sandbox opening balance", CreatedAt: s.now(), Entries: []jeton.Entry{
				{Account: jeton.AccountAvailable, Amount: s.cfg.OpeningBalance},
				{Account: jeton.AccountFunding, Amount: -s.cfg.OpeningBalance},
			}}
	}
	if _, err := s.cfg.Store.OpenWallet(ctx, merchantID, opening); err != nil {
		return err
	}
	s.opened.add(merchantID)
	return nil
}

// ClientData is the risk part of a client's clientData, as merchants send
// it (wager in dollars).
type ClientData struct {
	TotalWager       *float64 `json:"totalWager"`
	KYCLevel         *float64 `json:"kycLevel"`
	FiatDeposits     *bool    `json:"fiatDeposits"`
	CryptoDeposits   *bool    `json:"cryptoDeposits"`
	RegistrationDate *string  `json:"registrationDate"`
}

// riskData reads clientData for the risk model; unreadable data counts as
// none (the baseline).
func riskData(raw json.RawMessage) risk.ClientData {
	var cd ClientData
	var out risk.ClientData
	if len(raw) == 0 || json.Unmarshal(raw, &cd) != nil {
		return out
	}
	if cd.TotalWager != nil && *cd.TotalWager > 0 {
		out.TotalWager = int64(math.Min(*cd.TotalWager, 1e12) * 100)
	}
	if cd.KYCLevel != nil {
		out.KYCLevel = int(*cd.KYCLevel)
	}
	out.FiatDeposits = cd.FiatDeposits != nil && *cd.FiatDeposits
	out.CryptoDeposits = cd.CryptoDeposits != nil && *cd.CryptoDeposits
	if cd.RegistrationDate != nil {
		if t, err := time.Parse(time.RFC3339, *cd.RegistrationDate); err == nil {
			out.RegistrationDate = t
		}
	}
	return out
}

func (s *Service) riskInput(m jeton.Merchant, cd json.RawMessage, h jeton.UserHistory) risk.Input {
	return risk.Input{
		Client:             riskData(cd),
		History:            risk.History{SettledDeposits: int64(h.SettledDeposits), SettledCount: h.SettledCount, Reversals: h.Reversals, FirstSeen: h.FirstSeen},
		MerchantCollateral: int64(m.Collateral),
		Exposure:           int64(h.Exposure),
		Now:                s.now(),
	}
}

// Inventory is the user's inventory of g without the items already in
// one of the user's deposits with this merchant.
func (s *Service) Inventory(ctx context.Context, merchantID, steamID string, g steam.Game) ([]steam.Item, time.Time, error) {
	items, at, err := s.cfg.Backend.Inventory(ctx, steamID, g)
	if err != nil {
		return nil, at, err
	}
	h, err := s.cfg.Store.UserHistory(ctx, merchantID, steamID)
	if err != nil {
		return nil, at, err
	}
	if len(h.Held) == 0 {
		return items, at, nil
	}
	kept := make([]steam.Item, 0, len(items))
	for _, it := range items {
		if !h.Held[it.ID] {
			kept = append(kept, it)
		}
	}
	return kept, at, nil
}

// Collateral is the user's instant-credit headroom now, as the inventory
// reply shows it.
func (s *Service) Collateral(ctx context.Context, merchantID, steamID string, clientData json.RawMessage) (jeton.USD, error) {
	m, err := s.cfg.Merchants.Merchant(ctx, merchantID)
	if err != nil {
		return 0, err
	}
	h, err := s.cfg.Store.UserHistory(ctx, merchantID, steamID)
	if err != nil {
		return 0, err
	}
	if clientData == nil {
		if c, err := s.cfg.Store.Client(ctx, merchantID, steamID); err == nil {
			clientData = c.ClientData
		}
	}
	return jeton.USD(s.cfg.Risk.Available(s.riskInput(m, clientData, h))), nil
}

// change builds the atomic write of a trade's new status: the event, the
// postings, and the status callback when the merchant has a URL.
func (s *Service) change(m jeton.Merchant, t jeton.Trade, postings ...jeton.Posting) (*jeton.TradeChange, error) {
	ch := &jeton.TradeChange{Trade: t, Event: t.Status, Postings: postings}
	for i := range ch.Postings {
		p := &ch.Postings[i]
		p.ID, p.MerchantID, p.TradeID, p.CreatedAt = newPostingID(), t.MerchantID, t.ID, t.UpdatedAt
	}
	// A withdrawal's INITIATED is announced by the approval call itself:
	// a second, status callback would read as another approval request.
	// Every other change gets its callback even while the merchant has no
	// URL (or this instance has not heard of it yet): delivery retries
	// until one is set, so no callback depends on a cache being fresh.
	if !(t.Type == jeton.Withdraw && t.Status == jeton.StatusInitiated) {
		c, err := callback.Status(t, t.UpdatedAt)
		if err != nil {
			return nil, err
		}
		ch.Callbacks = []jeton.Callback{c}
	}
	return ch, nil
}

// queuedTrade is a queued trade's newest known copy (zero: none).
type queuedTrade struct {
	mu sync.Mutex
	t  jeton.Trade
}

// take returns the copy to start from.
func (q *queuedTrade) take() jeton.Trade {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.t
}

// kick asks a worker to look at a trade now, unless it is already queued.
func (s *Service) kick(id string) { s.enqueue(id, nil) }

// kickWith kicks a trade with the copy its caller has: the queued copy is
// replaced if this one is newer.
func (s *Service) kickWith(t jeton.Trade) { s.enqueue(t.ID, &t) }

func (s *Service) enqueue(id string, t *jeton.Trade) {
	q := &queuedTrade{}
	if t != nil {
		q.t = *t
	}
	if v, dup := s.queued.LoadOrStore(id, q); dup {
		if t != nil {
			old := v.(*queuedTrade)
			old.mu.Lock()
			if t.Version > old.t.Version {
				old.t = *t
			}
			old.mu.Unlock()
		}
		return
	}
	select {
	case s.kicks <- id:
	default: // the sweeper will find it
		s.queued.Delete(id)
	}
}

// Poke looks at a trade soon, e.g. after a sandbox control changed its
// offer.
func (s *Service) Poke(id string) { s.kick(id) }

// Run advances due trades until ctx ends.
func (s *Service) Run(ctx context.Context) {
	ctx = jeton.Background(ctx)
	for i := 0; i < s.cfg.Workers; i++ {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-s.kicks:
					var t jeton.Trade
					if v, ok := s.queued.LoadAndDelete(id); ok {
						t = v.(*queuedTrade).take()
					}
					s.advanceOnce(ctx, id, t)
				}
			}
		}()
	}
	tick := time.NewTicker(s.cfg.Sweep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			due, err := s.cfg.Store.DueTrades(ctx, s.now(), 1000)
			if err != nil {
				if ctx.Err() == nil {
					s.cfg.Log.Warn("due trades", "err", err)
				}
				continue
			}
			for _, t := range due {
				if _, busy := s.running.Load(t.ID); !busy {
					s.kickWith(t)
				}
			}
		}
	}
}

// advanceOnce advances a trade unless a worker already is, in which case
// that worker goes once more when it is done. known is the trade as last
// written, or zero.
func (s *Service) advanceOnce(ctx context.Context, id string, known jeton.Trade) {
	again := new(atomic.Bool)
	if prev, busy := s.running.LoadOrStore(id, again); busy {
		prev.(*atomic.Bool).Store(true)
		return
	}
	for {
		again.Store(false)
		if err := s.advance(ctx, id, known); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("advance trade", "trade", id, "err", err)
		}
		known = jeton.Trade{} // once more: read what is stored
		if !again.Load() || ctx.Err() != nil {
			break
		}
	}
	// A kick landing between the last check and this delete is lost;
	// every step leaves its trade due when there is more to do, so the
	// sweeper finds it.
	s.running.Delete(id)
}

func errf(kind jeton.Kind, key, format string, args ...any) error {
	return jeton.Errorf(kind, key, format, args...)
}
