package wxapi

import (
	"context"
	"encoding/json"
	"net/http"
)

// The custom menu API. wxreply reads the menu back with /cgi-bin/menu/get,
// not /cgi-bin/get_current_selfmenu_info: menu/get answers in the format that
// menu/create takes (plus a menuid, and "sub_button": [] on plain buttons), so
// a menu read back can be pushed again as it is. get_current_selfmenu_info
// also shows menus made in the admin panel, but in another shape (sub_button
// as {"list": [...]}, and types such as text, img and news that create does
// not take).

// MenuCreate makes menu the account's default custom menu, replacing the one
// before. menu is anything that encodes to WeChat's JSON, {"button": [...]}.
func (c *Client) MenuCreate(ctx context.Context, menu any) error {
	return c.Call(ctx, http.MethodPost, "/cgi-bin/menu/create", nil, menu, nil)
}

// MenuInfo is the answer of /cgi-bin/menu/get.
type MenuInfo struct {
	// Menu is the default menu, as WeChat sent it: {"button": [...], "menuid": ...}.
	Menu json.RawMessage `json:"menu"`
	// ConditionalMenus are the personalised menus, each with its matchrule.
	ConditionalMenus []json.RawMessage `json:"conditionalmenu"`
}

// MenuGet returns the account's menu made through the API. When there is none,
// the error matches ErrNoMenu.
func (c *Client) MenuGet(ctx context.Context) (*MenuInfo, error) {
	var info MenuInfo
	if err := c.Call(ctx, http.MethodGet, "/cgi-bin/menu/get", nil, nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// MenuDelete deletes the account's default menu and with it every
// conditional menu.
func (c *Client) MenuDelete(ctx context.Context) error {
	return c.Call(ctx, http.MethodGet, "/cgi-bin/menu/delete", nil, nil, nil)
}
