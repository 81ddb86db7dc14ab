package sample

import "testing"

func TestNames(t *testing.T) {
	for name, want := range map[string]string{
		"docker-" + webID + ".scope":         webID,
		"cri-containerd-" + appID + ".scope": appID,
		"crio-" + appID + ".scope":           appID,
		"libpod-" + appID + ".scope":         appID,
		appID:                                appID,
		"crio-conmon-" + appID + ".scope":    "",
		"docker-" + webID[:12] + ".scope":    "",
		"init.scope":                         "",
		"system.slice":                       "",
	} {
		if got, _ := containerID(name); got != want {
			t.Errorf("containerID(%q) = %q, want %q", name, got, want)
		}
	}
	u := "6b9f1a0e-3c2d-4e5f-8a7b-9c0d1e2f3a4b"
	for _, n := range []string{"pod" + u, "kubepods-burstable-pod6b9f1a0e_3c2d_4e5f_8a7b_9c0d1e2f3a4b.slice", "kubepods-pod6b9f1a0e_3c2d_4e5f_8a7b_9c0d1e2f3a4b.slice"} {
		if !isPodCgroup(n, u) {
			t.Errorf("%q not seen as pod %s", n, u)
		}
	}
	if isPodCgroup("kubepods-burstable.slice", u) || isPodCgroup("pod"+u[:8], u) {
		t.Error("false pod match")
	}
	for in, want := range map[string]string{"nginx": "nginx.service", "a.scope": "a.scope", "user.slice": "user.slice", "x.y": "x.y.service"} {
		if got := unitName(in); got != want {
			t.Errorf("unitName(%q) = %q", in, got)
		}
	}
}
