package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jetonhq/jeton/client"
)

// The merchant's own books: one balance per user, moved only by entries,
// each entry keyed by what caused it. jeton's callbacks arrive at least
// once and in any order, so every effect is keyed by (trade id, status):
// a repeat finds its key and changes nothing.

// Entry is one movement of a user's balance.
type Entry struct {
	Key     string     `json:"key"` // unique: "<trade id>/<STATUS>", or "opening/<user>"
	TradeID string     `json:"tradeId,omitempty"`
	Amount  client.USD `json:"amount"` // + credit, − debit
	Memo    string     `json:"memo"`
	At      time.Time  `json:"at"`
}

// Account is one user's balance and its history, oldest entry first.
type Account struct {
	Balance client.USD `json:"balance"`
	Entries []Entry    `json:"entries"`
}

// Verdict is the answer given to a withdrawal's approval call. It is kept
// per trade id so that every attempt gets the same answer.
type Verdict struct {
	User    string `json:"user"`
	Approve bool   `json:"approve"`
	Reason  string `json:"reason,omitempty"`
}

// book is everything the ledger persists.
type book struct {
	Accounts map[string]*Account `json:"accounts"` // by user name
	Verdicts map[string]Verdict  `json:"verdicts"` // by trade id
}

// Ledger is the users' balances, persisted as one JSON file that is
// rewritten atomically (temp file, then rename) after every change, so a
// restart keeps every balance and every idempotency key.
type Ledger struct {
	mu    sync.Mutex
	path  string
	users []User
	book  book
	now   func() time.Time
}

// OpenLedger reads path (an absent file is an empty book) and opens an
// account, with its opening balance, for every user that has none.
func OpenLedger(path string, users []User) (*Ledger, error) {
	l := &Ledger{path: path, users: users, now: time.Now,
		book: book{Accounts: map[string]*Account{}, Verdicts: map[string]Verdict{}}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, &l.book); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	err = l.change(func(b *book) error {
		for _, u := range users {
			if b.Accounts[u.Name] == nil {
				b.Accounts[u.Name] = &Account{Entries: []Entry{}}
				post(b, u.Name, Entry{Key: "opening/" + u.Name, Amount: u.Opening, Memo: "opening balance", At: l.now()})
			}
		}
		return nil
	})
	return l, err
}

// Account returns a copy of one user's account.
func (l *Ledger) Account(name string) (Account, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.book.Accounts[name]
	if a == nil {
		return Account{}, false
	}
	return Account{Balance: a.Balance, Entries: slices.Clone(a.Entries)}, true
}

// Approve decides a withdrawal's approval call: approved only if the
// user's balance covers the trade's total, and then debited at once, so
// the money cannot be spent twice while the trade runs. The verdict is
// stored before it is returned: a retried call (a new delivery id, the
// same trade) gets the same answer and no second debit.
func (l *Ledger) Approve(t client.Trade) (Verdict, error) {
	var v Verdict
	err := l.change(func(b *book) error {
		if old, ok := b.Verdicts[t.ID]; ok {
			v = old
			return nil
		}
		u := l.userOf(t)
		switch {
		case u == nil:
			v = Verdict{Reason: "unknown user"}
		case b.Accounts[u.Name].Balance < t.TotalPrice:
			v = Verdict{User: u.Name, Reason: fmt.Sprintf("balance $%s is below the price $%s", b.Accounts[u.Name].Balance, t.TotalPrice)}
		default:
			v = Verdict{User: u.Name, Approve: true}
			post(b, u.Name, Entry{Key: t.ID + "/APPROVED", TradeID: t.ID, Amount: -t.TotalPrice, Memo: "withdrawal approved: " + itemNames(t), At: l.now()})
		}
		b.Verdicts[t.ID] = v
		return nil
	})
	return v, err
}

// Apply books a verified status callback (any order, any number of
// times). What each status means for the user, after docs/trades.md:
//
//   - deposit HOLD (CS2): credit preCredit, the instant credit;
//   - deposit COMPLETED: credit pendingCredit if the trade was held,
//     else (Rust: no hold) the whole totalPrice;
//   - deposit REVERTED: the user took the items back in the hold, so
//     take back the instant credit (the balance may go below zero);
//   - withdrawal FAILED, DECLINED or REVERTED: refund what the approval
//     debited, if it did (a rejected withdrawal was never debited).
//
// Every other status moves no money. Callbacks for users this merchant
// does not know are acknowledged and ignored: retrying them would not
// help.
func (l *Ledger) Apply(t client.Trade) error {
	return l.change(func(b *book) error {
		u := l.userOf(t)
		if u == nil {
			return nil
		}
		key := t.ID + "/" + string(t.Status)
		e := Entry{Key: key, TradeID: t.ID, At: l.now()}
		switch {
		case t.Type == client.TypeDeposit && t.Status == client.StatusHold:
			e.Amount, e.Memo = usd(t.PreCredit), "deposit in hold: instant credit for "+itemNames(t)
		case t.Type == client.TypeDeposit && t.Status == client.StatusCompleted && t.HoldEndDate != nil:
			e.Amount, e.Memo = usd(t.PendingCredit), "deposit completed: the rest after the hold"
		case t.Type == client.TypeDeposit && t.Status == client.StatusCompleted:
			e.Amount, e.Memo = t.TotalPrice, "deposit completed: "+itemNames(t)
		case t.Type == client.TypeDeposit && t.Status == client.StatusReverted:
			e.Amount, e.Memo = -usd(t.PreCredit), "deposit reversed in the hold: instant credit taken back"
		case t.Type == client.TypeWithdraw && (t.Status == client.StatusFailed || t.Status == client.StatusDeclined || t.Status == client.StatusReverted):
			if !booked(b, t.ID+"/APPROVED") {
				return nil // never debited: rejected, or approved by no one
			}
			// jeton keeps a decline penalty from the merchant; this demo
			// refunds its user in full.
			e.Amount, e.Memo = t.TotalPrice, "withdrawal "+string(t.Status)+": refunded"
		default:
			return nil
		}
		if e.Amount != 0 {
			post(b, u.Name, e)
		}
		return nil
	})
}

// post adds e to an account unless its key is already booked.
func post(b *book, user string, e Entry) {
	if booked(b, e.Key) {
		return
	}
	a := b.Accounts[user]
	a.Balance += e.Amount
	a.Entries = append(a.Entries, e)
}

// change applies fn to a copy of the book, writes the copy to disk, and
// only then makes it the ledger's state: memory never runs ahead of the
// file, so an answer given after change returned nil survives a crash.
func (l *Ledger) change(fn func(*book) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	before, err := json.MarshalIndent(l.book, "", "  ")
	if err != nil {
		return err
	}
	next := book{Accounts: map[string]*Account{}, Verdicts: map[string]Verdict{}}
	if err := json.Unmarshal(before, &next); err != nil {
		return err
	}
	if next.Accounts == nil { // a file that says "accounts": null
		next.Accounts = map[string]*Account{}
	}
	if next.Verdicts == nil {
		next.Verdicts = map[string]Verdict{}
	}
	if err := fn(&next); err != nil {
		return err
	}
	after, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return err
	}
	if !bytes.Equal(before, after) {
		if err := writeAtomic(l.path, after); err != nil {
			return fmt.Errorf("saving the ledger: %w", err)
		}
	}
	l.book = next
	return nil
}

// booked reports whether an entry with this key exists.
func booked(b *book, key string) bool {
	for _, a := range b.Accounts {
		for _, e := range a.Entries {
			if e.Key == key {
				return true
			}
		}
	}
	return false
}

// writeAtomic replaces path with data: a reader (or a crash) sees the old
// file or the new one, never half of one.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// userOf finds the trade's user: by the clientId the token carried (our
// user name), else by Steam ID. Self-trades (/secure/sell and /secure/buy)
// are the shop's own business, no user's: none is found, so they move no
// user's balance (and this shop rejects self-buys).
func (l *Ledger) userOf(t client.Trade) *User {
	if t.Source == "self" {
		return nil
	}
	for i, u := range l.users {
		if t.ExternalClientUserID != nil && *t.ExternalClientUserID == u.Name {
			return &l.users[i]
		}
	}
	for i, u := range l.users {
		if t.ExternalClientUserID == nil && t.ClientSteamID == u.SteamID {
			return &l.users[i]
		}
	}
	return nil
}

func usd(p *client.USD) client.USD {
	if p == nil {
		return 0
	}
	return *p
}

// itemNames names a trade's items for the ledger's memo.
func itemNames(t client.Trade) string {
	s := ""
	for i, it := range t.Items {
		if i > 0 {
			s += ", "
		}
		if it.MarketHashName != "" {
			s += it.MarketHashName
		} else {
			s += it.ID
		}
	}
	return s
}
