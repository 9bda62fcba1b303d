package sagapay

import (
	"net/http"
	"strings"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

// Tips and branding at the merchant, store and terminal levels. Setting
// them is administration; reading them is open to client tokens, as the
// seed allows (tips, branding). A GET answers what applies at that level,
// the levels above it included.

// levelOf reads the level a settings route names.
func levelOf(r *http.Request) (storeID, terminalID, name string) {
	storeID, terminalID = r.PathValue("storeId"), r.PathValue("terminalId")
	switch {
	case terminalID != "":
		return storeID, terminalID, jeton.LevelTerminal
	case storeID != "":
		return storeID, "", jeton.LevelStore
	}
	return "", "", jeton.LevelMerchant
}

// ownPath refuses a merchant id in the path that is not the caller's.
func ownPath(r *http.Request, merchantID string) error {
	if p := r.PathValue("merchantId"); p != "" && p != merchantID {
		return jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "Merchant not found")
	}
	return nil
}

func (a *API) patchTips(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var c payment.TipConfig
	if err := decode(r, &c); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := c.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	storeID, terminalID, level := levelOf(r)
	if err := a.payments.PatchSetting(r.Context(), m.ID, jeton.SettingTips, storeID, terminalID, &c); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, nil, level+" config updated successfully")
}

func (a *API) getTips(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := ownPath(r, c.MerchantID); err != nil {
		a.fail(w, r, err)
		return
	}
	storeID, terminalID, level := levelOf(r)
	var tc payment.TipConfig
	if err := a.payments.EffectiveSetting(r.Context(), c.MerchantID, jeton.SettingTips, storeID, terminalID, &tc); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, tc, strings.ToLower(level)+" config queried successfully")
}

func (a *API) patchBranding(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var b payment.Branding
	if err := decode(r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := b.Validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	storeID, terminalID, _ := levelOf(r)
	if err := a.payments.PatchSetting(r.Context(), m.ID, jeton.SettingBranding, storeID, terminalID, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, nil, "Branding configuration set successfully.")
}

func (a *API) getBranding(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := ownPath(r, c.MerchantID); err != nil {
		a.fail(w, r, err)
		return
	}
	storeID, terminalID, _ := levelOf(r)
	var b payment.Branding
	if err := a.payments.EffectiveSetting(r.Context(), c.MerchantID, jeton.SettingBranding, storeID, terminalID, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, b, "Fetched Branding successfully")
}

func (a *API) deleteBranding(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	storeID, terminalID, _ := levelOf(r)
	lv, err := a.payments.DeleteSetting(r.Context(), m.ID, jeton.SettingBranding, storeID, terminalID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, nil, "Configuration deleted successfully for id ["+lv.ID+"] and type "+lv.Name)
}
