package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/jetonhq/jeton"
)

// Tips and branding are set at three levels, merchant, store and
// terminal; each field is resolved on its own, the lowest level that sets
// it winning (Surfboard's inheritance).

// TipConfig is Surfboard's tip configuration. Unset fields inherit.
type TipConfig struct {
	TipConfig               *string `json:"tipConfig,omitempty"`
	TipLevel1               *int64  `json:"tipLevel1,omitempty"`
	TipLevel2               *int64  `json:"tipLevel2,omitempty"`
	TipLevel3               *int64  `json:"tipLevel3,omitempty"`
	FreeAmountEnabled       *bool   `json:"freeAmountEnabled,omitempty"`
	DefaultCustomAmount     *int64  `json:"defaultCustomAmount,omitempty"`
	DisplayCalculatedAmount *string `json:"displayCalculatedAmount,omitempty"`
	TipDisplayFormat        *string `json:"tipDisplayFormat,omitempty"`
}

// Validate refuses values outside the reference's enums and ranges.
func (c TipConfig) Validate() error {
	in := func(field string, v *string, allowed ...string) error {
		if v == nil {
			return nil
		}
		for _, a := range allowed {
			if *v == a {
				return nil
			}
		}
		return jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "%s must be one of %s", field, strings.Join(allowed, ", "))
	}
	pct := func(field string, v *int64) error {
		if v != nil && (*v < 0 || *v > 100) {
			return jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "%s is a whole percentage from 0 to 100", field)
		}
		return nil
	}
	if c.DefaultCustomAmount != nil && (*c.DefaultCustomAmount < 0 || *c.DefaultCustomAmount > 1_000_000_000) {
		return jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "defaultCustomAmount is out of range")
	}
	for _, err := range []error{
		in("tipConfig", c.TipConfig, "ENABLED", "DISABLED"),
		in("displayCalculatedAmount", c.DisplayCalculatedAmount, "ENABLED", "DISABLED"),
		in("tipDisplayFormat", c.TipDisplayFormat, "PERCENTAGE", "AMOUNT"),
		pct("tipLevel1", c.TipLevel1), pct("tipLevel2", c.TipLevel2), pct("tipLevel3", c.TipLevel3),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Branding is Surfboard's branding of customer-facing pages (receipts).
type Branding struct {
	BackgroundColor     *string `json:"backgroundColor,omitempty"`
	BrandColor          *string `json:"brandColor,omitempty"`
	AccentColor         *string `json:"accentColor,omitempty"`
	FooterColor         *string `json:"footerColor,omitempty"`
	RectShape           *string `json:"rectShape,omitempty"`
	FontType            *string `json:"fontType,omitempty"`
	LogoURL             *string `json:"logoUrl,omitempty"`
	IconURL             *string `json:"iconUrl,omitempty"`
	PrimaryCoverImage   *string `json:"primaryCoverImage,omitempty"`
	SecondaryCoverImage *string `json:"secondaryCoverImage,omitempty"`
}

// Validate refuses colours that are not hex, unknown shapes and fonts,
// and image addresses that are not https; it upper-cases rectShape.
func (b *Branding) Validate() error {
	bad := func(msg string) error { return jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "%s", msg) }
	for name, v := range map[string]*string{"backgroundColor": b.BackgroundColor, "brandColor": b.BrandColor, "accentColor": b.AccentColor, "footerColor": b.FooterColor} {
		if v != nil && !hexColour(*v) {
			return bad(name + " must be a hex colour such as #1A2B3C")
		}
	}
	if b.RectShape != nil {
		switch strings.ToLower(*b.RectShape) {
		case "rounded", "pill", "edgy":
			up := strings.ToUpper(*b.RectShape) // returned upper-case, as Surfboard does
			b.RectShape = &up
		default:
			return bad("rectShape must be rounded, pill or edgy")
		}
	}
	if b.FontType != nil && *b.FontType != "sans-serif" && *b.FontType != "serif" && *b.FontType != "mono" {
		return bad("fontType must be sans-serif, serif or mono")
	}
	for name, v := range map[string]*string{"logoUrl": b.LogoURL, "iconUrl": b.IconURL, "primaryCoverImage": b.PrimaryCoverImage, "secondaryCoverImage": b.SecondaryCoverImage} {
		if v != nil && (!strings.HasPrefix(*v, "https://") || len(*v) > 2048 || strings.ContainsAny(*v, "\"'<> ")) {
			return bad(name + " must be an https URL")
		}
	}
	return nil
}

func hexColour(s string) bool {
	if len(s) != 7 && len(s) != 4 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// Level names one level of settings.
type Level struct {
	Name string // jeton.LevelMerchant, LevelStore or LevelTerminal
	ID   string
}

// merge sets every field of dst that src sets (both pointers to structs
// of pointer fields).
func merge(dst, src any) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := range d.NumField() {
		if f := s.Field(i); !f.IsNil() {
			d.Field(i).Set(f)
		}
	}
}

// levels is the chain from the merchant down to a terminal (or a store).
func levels(merchantID, storeID, terminalID string) []Level {
	out := []Level{{jeton.LevelMerchant, merchantID}}
	if storeID != "" {
		out = append(out, Level{jeton.LevelStore, storeID})
	}
	if terminalID != "" {
		out = append(out, Level{jeton.LevelTerminal, terminalID})
	}
	return out
}

// effective resolves a setting of kind into out down the chain.
func (s *Service) effective(ctx context.Context, merchantID, kind string, chain []Level, out any) error {
	all, err := s.settings.get(merchantID+"\x00"+kind, func() ([]jeton.Setting, error) { return s.cfg.Store.Settings(ctx, merchantID, kind) })
	if err != nil {
		return err
	}
	for _, l := range chain {
		for _, st := range all {
			if st.Level == l.Name && st.LevelID == l.ID {
				v := reflect.New(reflect.TypeOf(out).Elem())
				if err := json.Unmarshal(st.Doc, v.Interface()); err != nil {
					return fmt.Errorf("%s setting at %s %s: %w", kind, l.Name, l.ID, err)
				}
				merge(out, v.Interface())
			}
		}
	}
	return nil
}

// checkLevel makes sure a store or terminal level is the merchant's own
// (and a terminal its store's).
func (s *Service) checkLevel(ctx context.Context, merchantID, storeID, terminalID string) error {
	if storeID != "" {
		if _, err := s.cfg.Store.SagaStore(ctx, merchantID, storeID); err != nil {
			return err
		}
	}
	if terminalID != "" {
		t, err := s.terminal(ctx, merchantID, terminalID)
		if err != nil {
			return err
		}
		if t.StoreID != storeID {
			return notFound(jeton.KeyTerminalNotFound, "Terminal")
		}
	}
	return nil
}

// PatchSetting merges patch into one level's settings of kind. patch is
// a *TipConfig or a *Branding, already validated.
func (s *Service) PatchSetting(ctx context.Context, merchantID, kind, storeID, terminalID string, patch any) error {
	if err := s.checkLevel(ctx, merchantID, storeID, terminalID); err != nil {
		return err
	}
	chain := levels(merchantID, storeID, terminalID)
	lv := chain[len(chain)-1]
	s.settings.drop(merchantID + "\x00" + kind) // merge into what is stored, not a cached copy
	cur := reflect.New(reflect.TypeOf(patch).Elem()).Interface()
	if err := s.effective(ctx, merchantID, kind, []Level{lv}, cur); err != nil {
		return err
	}
	merge(cur, patch)
	doc, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	defer s.settings.drop(merchantID + "\x00" + kind)
	return s.cfg.Store.PutSetting(ctx, jeton.Setting{MerchantID: merchantID, Kind: kind, Level: lv.Name, LevelID: lv.ID, Doc: doc, UpdatedAt: s.now()})
}

// EffectiveSetting resolves kind at a level: what applies there, the
// levels above included. out is a *TipConfig or a *Branding.
func (s *Service) EffectiveSetting(ctx context.Context, merchantID, kind, storeID, terminalID string, out any) error {
	if err := s.checkLevel(ctx, merchantID, storeID, terminalID); err != nil {
		return err
	}
	return s.effective(ctx, merchantID, kind, levels(merchantID, storeID, terminalID), out)
}

// DeleteSetting removes one level's settings of kind; the level inherits
// again.
func (s *Service) DeleteSetting(ctx context.Context, merchantID, kind, storeID, terminalID string) (Level, error) {
	if err := s.checkLevel(ctx, merchantID, storeID, terminalID); err != nil {
		return Level{}, err
	}
	chain := levels(merchantID, storeID, terminalID)
	lv := chain[len(chain)-1]
	defer s.settings.drop(merchantID + "\x00" + kind)
	return lv, s.cfg.Store.DeleteSetting(ctx, merchantID, kind, lv.Name, lv.ID)
}

// TipPrompt is the tip screen a terminal shows: nil when it shows none.
type TipPrompt struct {
	// Mode is STANDARD (choose a level) or ROUNDUP (round the amount up
	// to a whole unit).
	Mode       string
	Levels     []int64 // percentages
	FreeAmount bool
}

// tipPrompt decides the tip screen of a payment: the order's tipsMode
// first (NONE never asks; ROUNDUP always does), then the terminal's
// effective configuration. Refunds never ask for a tip.
func (s *Service) tipPrompt(ctx context.Context, o jeton.Order, t jeton.Terminal) (*TipPrompt, error) {
	if o.Type == jeton.OrderReturn || o.TipsMode == "NONE" {
		return nil, nil
	}
	if o.TipsMode == "ROUNDUP" {
		return &TipPrompt{Mode: "ROUNDUP"}, nil
	}
	var c TipConfig
	if err := s.effective(ctx, o.MerchantID, jeton.SettingTips, levels(o.MerchantID, t.StoreID, t.ID), &c); err != nil {
		return nil, err
	}
	if c.TipConfig == nil || *c.TipConfig != "ENABLED" {
		return nil, nil
	}
	p := &TipPrompt{Mode: "STANDARD", FreeAmount: c.FreeAmountEnabled != nil && *c.FreeAmountEnabled}
	for _, l := range []*int64{c.TipLevel1, c.TipLevel2, c.TipLevel3} {
		if l != nil && *l > 0 {
			p.Levels = append(p.Levels, *l)
		}
	}
	if len(p.Levels) == 0 && !p.FreeAmount {
		return nil, nil
	}
	return p, nil
}
