<?php
// Debian's /etc/adminer/conf.php, with the login-password-less plugin added so that a SQLite
// database (which has no password of its own) can be opened with the zoo password.
define('ADMINER_DIR', '/usr/share/adminer');
function adminer_object() {
    include_once ADMINER_DIR . "/plugins/plugin.php";
    include_once ADMINER_DIR . "/plugins/version-noverify.php";
    include_once ADMINER_DIR . "/plugins/login-password-less.php";
    return new AdminerPlugin(array(
        new AdminerVersionNoverify(),
        new AdminerLoginPasswordLess(password_hash(getenv("ZOO_PASSWORD"), PASSWORD_DEFAULT)),
    ));
}
include ADMINER_DIR . "/adminer.php";
