package main

import (
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
)

// watcherReloader hands the server the rule watcher as the server.Reloader
// it declares: the server reloads and reports without importing rules.
type watcherReloader struct{ w *rules.Watcher }

var _ server.Reloader = watcherReloader{}

func (r watcherReloader) Reload(trigger string) (string, bool, error) { return r.w.Reload(trigger) }

func (r watcherReloader) Status() server.ReloadStatus {
	st := r.w.Status()
	return server.ReloadStatus{
		LastSuccess:          st.LastSuccess,
		LastReloadSuccessful: st.LastReloadSuccessful,
		LastError:            st.LastError,
		FailingSince:         st.FailingSince,
		SourceMissing:        st.SourceMissing,
		Warning:              st.Warning,
		Shrunk:               st.Shrunk,
		Reloads:              st.Reloads,
	}
}
