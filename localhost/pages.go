package localhost

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
)

// pageData fills templates/index.html.
type pageData struct {
	Lang       string // initial language: en or zh-CN
	Token      string // the session token, read by the widget from a meta tag
	Static     string // /static/<hash>
	Version    string
	Mode       string   // "cif" inside Dynamics, "tab" in a plain browser tab
	CRMOrigin  string   // validated base origin (cif mode only)
	CIFLibrary string   // the CIF library URL on that origin (cif mode only)
	Modules    []string // JavaScript modules to preload
}

// noticeData fills templates/notice.html, the page shown instead of the
// widget when something is wrong. It carries no token and loads no script.
type noticeData struct {
	Lang    string
	Static  string
	Title   string
	Message string
	Hint    string
}

func (s *Server) widgetPage(cif bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := s.pickLanguage(r)
		d := pageData{Lang: lang, Token: s.token, Static: "/static/" + s.staticHash, Version: s.opts.Version, Mode: "tab", Modules: s.modules}
		scriptSrc := "'self'"
		if cif {
			bases := r.URL.Query()["base"]
			raw := ""
			if len(bases) > 0 {
				raw = bases[0]
			}
			origin, err := matchBase(raw, s.origins)
			if err == nil && len(bases) > 1 {
				err = &baseError{reason: "several"}
			}
			if err != nil {
				be := err.(*baseError)
				s.log.Warn("refused the widget page: bad base parameter", "reason", be.reason)
				s.notice(w, http.StatusBadRequest, lang, msgs(lang).badBaseTitle, be.message(lang), msgs(lang).badBaseHint)
				return
			}
			d.Mode, d.CRMOrigin = "cif", origin
			d.CIFLibrary = origin + "/webresources/Widget/msdyn_ciLibrary.js"
			scriptSrc += " " + origin
		}
		csp := strings.Join([]string{
			"default-src 'none'",
			"script-src " + scriptSrc,
			"style-src 'self'",
			"img-src 'self' data:",
			"font-src 'self'",
			fmt.Sprintf("connect-src 'self' wss://localhost:%d wss://127.0.0.1:%d", s.port, s.port),
			"frame-ancestors " + s.frameAncestors(),
			"base-uri 'none'",
			"form-action 'none'",
			"object-src 'none'",
		}, "; ")
		s.render(w, http.StatusOK, "index.html", d, csp)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	lang := s.pickLanguage(r)
	m := msgs(lang)
	s.notice(w, http.StatusNotImplemented, lang, m.ssoTitle, m.ssoMessage, m.ssoHint)
}

func (s *Server) notice(w http.ResponseWriter, status int, lang, title, msg, hint string) {
	csp := "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors " +
		s.frameAncestors() + "; base-uri 'none'; form-action 'none'"
	s.render(w, status, "notice.html", noticeData{Lang: lang, Static: "/static/" + s.staticHash,
		Title: title, Message: msg, Hint: hint}, csp)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any, csp string) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the page could not be rendered")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	// The page carries the session token: never cache it.
	h.Set("Cache-Control", "no-store")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pagePreflight answers Chrome's Private Network Access preflight for the
// widget page when a configured Dynamics origin frames it. PNA is on hold
// in Chrome (Local Network Access asks the user instead), so this only
// helps browsers still sending the preflight; it grants nothing to
// scripts: the page itself carries no CORS headers and the API none at
// all. Anything else gets a plain 405.
func (s *Server) pagePreflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" && s.crmOrigin(origin) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", strings.ToLower(origin))
		h.Set("Access-Control-Allow-Methods", "GET")
		h.Set("Access-Control-Allow-Private-Network", "true")
		h.Set("Access-Control-Max-Age", "600")
		h.Set("Vary", "Origin")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "OPTIONS is not allowed here")
}

// pickLanguage chooses the first page language: the agent's setting, else
// the browser's Accept-Language. The widget may still switch to the CRM
// user's language when the setting is empty.
func (s *Server) pickLanguage(r *http.Request) string {
	if st, err := s.phone.Settings(r.Context()); err == nil && st.Language != "" {
		return st.Language
	}
	return langFromAccept(r.Header.Get("Accept-Language"))
}

func langFromAccept(h string) string {
	for _, part := range strings.Split(h, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(tag)
		switch {
		case strings.HasPrefix(tag, "zh"):
			return "zh-CN"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "en"
}

// pageText holds the few server-rendered strings (the widget translates
// the rest itself).
type pageText struct {
	badBaseTitle, badBaseHint     string
	ssoTitle, ssoMessage, ssoHint string
}

func msgs(lang string) pageText {
	if lang == "zh-CN" {
		return pageText{
			badBaseTitle: "无法在此处打开 Switchboard",
			badBaseHint:  "请让 Dynamics 365 管理员检查渠道提供程序中的渠道 URL（运行 switchboard channel-url 可获得正确地址）。",
			ssoTitle:     "单点登录未配置",
			ssoMessage:   "此地址保留给电话系统的单点登录（SSO）回调，但当前未配置单点登录。",
			ssoHint:      "请在 Switchboard 应用中使用分机号和密码登录。",
		}
	}
	return pageText{
		badBaseTitle: "Switchboard can't open here",
		badBaseHint:  "Ask your Dynamics 365 administrator to check the channel URL in the channel provider (`switchboard channel-url` prints the right one).",
		ssoTitle:     "Single sign-on is not configured",
		ssoMessage:   "This address is reserved for the PBX's single sign-on (SSO) redirect, but single sign-on is not set up.",
		ssoHint:      "Sign in from the Switchboard app with your extension and password.",
	}
}
