// Submit the launch form as soon as the page loads (an LMS does the same with its id_token form).
document.querySelectorAll("form[data-autosubmit]").forEach(function (form) { form.submit(); });
