package graph_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
)

type apiProfile struct {
	Bio, Occupation, Company, Goals, Interests, AboutMe, Twitter, Linkedin, Github, Instagram *string
}

const apiProfileFields = `bio occupation company goals interests aboutMe twitter linkedin github instagram`

func TestPersonalizationMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	user := uuid.New()
	read := func() *apiProfile {
		var got struct {
			Viewer struct{ Personalization *apiProfile }
		}
		e.must(t, user, `{ viewer { personalization { `+apiProfileFields+` } } }`, nil).as(t, &got)
		return got.Viewer.Personalization
	}
	update := func(input map[string]any) apiProfile {
		var got struct{ UpdatePersonalization apiProfile }
		e.must(t, user, `mutation($in: PersonalizationInput!) { updatePersonalization(input: $in) { `+apiProfileFields+` } }`,
			apiVars("in", input)).as(t, &got)
		return got.UpdatePersonalization
	}

	if p := read(); p != nil {
		t.Fatalf("viewer.personalization before any update: want null, got %+v", *p)
	}

	full := map[string]any{"bio": "I build things", "occupation": "Engineer", "company": "Acme", "goals": "Ship",
		"interests": "Climbing", "aboutMe": "Long story", "twitter": "@me", "linkedin": "in/me", "github": "me", "instagram": "me.gram"}
	want := apiProfile{apiStr("I build things"), apiStr("Engineer"), apiStr("Acme"), apiStr("Ship"), apiStr("Climbing"),
		apiStr("Long story"), apiStr("@me"), apiStr("in/me"), apiStr("me"), apiStr("me.gram")}
	if got := update(full); !reflect.DeepEqual(got, want) {
		t.Fatalf("first update:\nwant %s\ngot  %s", apiShowProfile(want), apiShowProfile(got))
	}
	if got := read(); got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("viewer.personalization after the first update: %v", got)
	}

	// Only one field: the others keep their values.
	want.Company = apiStr("Globex")
	if got := update(map[string]any{"company": "Globex"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("partial update:\nwant %s\ngot  %s", apiShowProfile(want), apiShowProfile(got))
	}
	// "" clears one field, the others stay.
	want.Bio = nil
	if got := update(map[string]any{"bio": ""}); !reflect.DeepEqual(got, want) {
		t.Fatalf("clearing bio:\nwant %s\ngot  %s", apiShowProfile(want), apiShowProfile(got))
	}
	// An empty input changes nothing.
	if got := update(map[string]any{}); !reflect.DeepEqual(got, want) {
		t.Fatalf("empty update:\nwant %s\ngot  %s", apiShowProfile(want), apiShowProfile(got))
	}
	if got := read(); got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("viewer.personalization at the end: %v", got)
	}
	if n := e.count(t, `select count(*) from user_personalization where user_id = $1 and bio is null and company = 'Globex'
		and occupation = 'Engineer' and instagram = 'me.gram'`, user); n != 1 {
		t.Fatalf("stored profile rows: %d, want 1 matching", n)
	}
	if n := e.count(t, `select count(*) from user_personalization`); n != 1 {
		t.Fatalf("profile rows: %d, want 1", n)
	}

	// A first update with "" stores NULL, not "".
	other := uuid.New()
	var first struct{ UpdatePersonalization apiProfile }
	e.must(t, other, `mutation { updatePersonalization(input: {bio: "", github: "gh"}) { `+apiProfileFields+` } }`, nil).as(t, &first)
	if first.UpdatePersonalization.Bio != nil || apiDeref(first.UpdatePersonalization.Github) != `"gh"` {
		t.Fatalf("first update with an empty bio: %s", apiShowProfile(first.UpdatePersonalization))
	}

	// Too long is refused and changes nothing.
	before := e.apiState(t, user)
	r := e.as(t, user, `mutation($b: String!) { updatePersonalization(input: {bio: $b, company: "Initech"}) { bio } }`,
		apiVars("b", strings.Repeat("b", 2001)))
	apiWantInvalid(t, r, "input.bio")
	if after := e.apiState(t, user); after != before {
		t.Fatalf("a refused update changed the profile")
	}
}

func apiShowProfile(p apiProfile) string {
	v := reflect.ValueOf(p)
	var parts []string
	for i := range v.NumField() {
		parts = append(parts, v.Type().Field(i).Name+"="+apiDeref(v.Field(i).Interface().(*string)))
	}
	return strings.Join(parts, " ")
}
