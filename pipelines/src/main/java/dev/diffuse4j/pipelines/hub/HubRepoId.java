package dev.diffuse4j.pipelines.hub;

import java.util.regex.Pattern;

/** Recognises Hugging Face model repo ids ("org/name") as opposed to local paths. */
public final class HubRepoId {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}");

    private HubRepoId() {}

    /** True for "org/name" strings that are not existing local paths. */
    public static boolean looksLikeRepoId(String s) {
        return ID.matcher(s).matches() && !s.contains("..") && !java.nio.file.Files.exists(java.nio.file.Path.of(s));
    }
}
